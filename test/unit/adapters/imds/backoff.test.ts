import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, DEFAULT_BACKOFF } from '../../../../src/adapters/imds/backoff.js';

describe('backoffDelayMs', () => {
  const cases: [failedAttempts: number, random: number, delayMs: number][] = [
    [1, 0, 100],
    [1, 0.999_999, 200],
    [2, 0, 200],
    [2, 0.5, 300],
    [3, 1, 800],
    [4, 0, 800],
    [5, 1, 2000],
    [9, 0, 1000],
    [9, 1, 2000],
  ];
  for (const [failedAttempts, random, delayMs] of cases) {
    it(`waits ${delayMs} ms after ${failedAttempts} failures (random ${random})`, () => {
      assert.equal(
        backoffDelayMs(failedAttempts, DEFAULT_BACKOFF, () => random),
        delayMs,
      );
    });
  }
});
