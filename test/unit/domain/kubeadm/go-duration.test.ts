import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration } from '../../../../src/domain/kubeadm/go-duration.js';

describe('formatGoDuration (as Go prints time.Duration)', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1250, '1.25s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [240_000, '4m0s'],
    [3_600_000, '1h0m0s'],
    [86_400_000, '24h0m0s'],
    [90_061_001, '25h1m1.001s'],
  ];
  for (const [ms, expected] of table) {
    it(`${ms}ms → ${expected}`, () => assert.equal(formatGoDuration(ms), expected));
  }

  it('refuses negative and non-finite durations', () => {
    assert.throws(() => formatGoDuration(-1), RangeError);
    assert.throws(() => formatGoDuration(Number.NaN), RangeError);
  });
});
