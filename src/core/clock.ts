/** Time, injected everywhere so tests can move it. Every instant and duration names its unit. */
export interface Clock {
  /** Wall clock (may be wrong, and may jump): for stamps, expiries of tokens, display. */
  nowMs(): number;
  /**
   * Monotonic ms since an arbitrary origin in this process: never jumps with the wall clock, so
   * durations measured with it (a lease's validity, a contender's watch) do not depend on skew.
   */
  monotonicMs(): number;
  sleepMs(durationMs: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleepMs: (durationMs, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, durationMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * A clock for tests and simulations: `KBOOT_CLOCK_OFFSET_MS` shifts "now" (the binary honours it
 * only when set, so an integration test can move a whole process 30 days ahead).
 */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  return { nowMs: () => base.nowMs() + offsetMs, monotonicMs: base.monotonicMs, sleepMs: base.sleepMs };
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}
