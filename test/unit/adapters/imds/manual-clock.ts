import type { Clock } from '../../../../src/core/clock.js';

/** A clock only the test moves: sleeping advances it at once and is recorded. */
export interface ManualClock extends Clock {
  advanceMs(durationMs: number): void;
  readonly sleptMs: number[];
}

export function manualClock(startMs = Date.UTC(2026, 0, 1)): ManualClock {
  let nowMs = startMs;
  const sleptMs: number[] = [];
  return {
    sleptMs,
    nowMs: () => nowMs,
    monotonicMs: () => nowMs,
    advanceMs: (durationMs) => {
      nowMs += durationMs;
    },
    sleepMs: async (durationMs, signal) => {
      signal?.throwIfAborted();
      sleptMs.push(durationMs);
      nowMs += durationMs;
    },
  };
}
