/** Poll pacing shared by the waits on cluster state: jittered delays and throttled progress logs. */

/** A delay spread over ±25 % of `baseMs`, so instances that booted together do not poll together. */
export function jitteredMs(baseMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(baseMs * (0.75 + 0.5 * random())));
}

/** How often a long wait logs its progress at info. */
export const PROGRESS_LOG_EVERY_MS = 30_000;

/** True at the first call and then once per `everyMs`; keeps a long wait's log readable. */
export function progressTicker(everyMs: number = PROGRESS_LOG_EVERY_MS): (nowMs: number) => boolean {
  let lastMs: number | undefined;
  return (nowMs) => {
    if (lastMs !== undefined && nowMs - lastMs < everyMs) return false;
    lastMs = nowMs;
    return true;
  };
}
