/**
 * A clock whose time moves only when the test says so. `sleepMs` parks the caller until time has
 * been advanced past its wake-up instant; `advanceMs` wakes sleepers in order, letting the code
 * they resume run (promise continuations, fake ports) before moving on. Its monotonic clock moves
 * with it; `skewMs` moves only the wall clock (a clock set wrong, or stepped).
 */

import type { Clock } from '../../../../src/core/clock.js';

interface Sleeper {
  atMs: number;
  seq: number;
  wake: () => void;
}

/** Lets pending promise continuations (and immediately-resolving fakes) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualClock implements Clock {
  #nowMs: number;
  readonly #startMs: number;
  /** Added to the wall clock only. */
  skewMs = 0;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#nowMs = startMs;
    this.#startMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs + this.skewMs;
  }

  monotonicMs(): number {
    return this.#nowMs - this.#startMs;
  }

  get sleeping(): number {
    return this.#sleepers.length;
  }

  sleepMs(durationMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = {
        atMs: this.#nowMs + Math.max(0, durationMs),
        seq: this.#seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  #nextDue(targetMs: number): Sleeper | undefined {
    let next: Sleeper | undefined;
    for (const s of this.#sleepers) {
      if (s.atMs > targetMs) continue;
      if (next === undefined || s.atMs < next.atMs || (s.atMs === next.atMs && s.seq < next.seq)) next = s;
    }
    return next;
  }

  /** Moves time forward by `durationMs`, waking each sleeper due on the way, in order. */
  async advanceMs(durationMs: number): Promise<void> {
    const targetMs = this.#nowMs + durationMs;
    for (;;) {
      await settle();
      const next = this.#nextDue(targetMs);
      if (next === undefined) break;
      this.#nowMs = Math.max(this.#nowMs, next.atMs);
      this.#sleepers = this.#sleepers.filter((s) => s !== next);
      next.wake();
    }
    this.#nowMs = targetMs;
    await settle();
  }

  /** Advances time sleeper by sleeper until `promise` settles (at most `limitMs` of clock time). */
  async run<T>(promise: Promise<T>, limitMs = 24 * 3_600_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    const endMs = this.#nowMs + limitMs;
    await settle();
    while (!settled) {
      const next = this.#nextDue(endMs);
      if (next === undefined)
        throw new Error('ManualClock.run: nothing left to wake and the promise has not settled');
      await this.advanceMs(next.atMs - this.#nowMs);
    }
    return tracked;
  }
}
