/**
 * Which snapshots to keep (kops's etcd-manager policy, configurable): every snapshot younger than
 * `allForHours`; the newest of each UTC hour younger than `hourlyForDays`; the newest of each UTC
 * day younger than `dailyForDays`; and always the newest snapshot, whatever its age, so a
 * cluster whose snapshots stopped still has one to restore. Pure: the caller deletes the rest.
 */

export interface RetentionPolicy {
  allForHours: number;
  hourlyForDays: number;
  dailyForDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { allForHours: 24, hourlyForDays: 7, dailyForDays: 365 };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface Dated {
  key: string;
  takenAtMs: number;
}

export interface RetentionDecision<T extends Dated> {
  keep: T[];
  remove: T[];
}

/** Splits `snapshots` into kept and removed, each newest first. */
export function applyRetention<T extends Dated>(
  snapshots: readonly T[],
  nowMs: number,
  policy: RetentionPolicy,
): RetentionDecision<T> {
  const newestFirst = [...snapshots].sort((a, b) => b.takenAtMs - a.takenAtMs || b.key.localeCompare(a.key));
  const kept = new Set<T>();
  const newest = newestFirst[0];
  if (newest !== undefined) kept.add(newest);
  const hours = new Set<number>();
  const days = new Set<number>();
  for (const snapshot of newestFirst) {
    const ageMs = nowMs - snapshot.takenAtMs;
    if (ageMs < policy.allForHours * HOUR_MS) kept.add(snapshot);
    const hour = Math.floor(snapshot.takenAtMs / HOUR_MS);
    if (ageMs < policy.hourlyForDays * DAY_MS && !hours.has(hour)) {
      hours.add(hour);
      kept.add(snapshot);
    }
    const day = Math.floor(snapshot.takenAtMs / DAY_MS);
    if (ageMs < policy.dailyForDays * DAY_MS && !days.has(day)) {
      days.add(day);
      kept.add(snapshot);
    }
  }
  return {
    keep: newestFirst.filter((snapshot) => kept.has(snapshot)),
    remove: newestFirst.filter((snapshot) => !kept.has(snapshot)),
  };
}
