import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCertificateKeyFresh,
  checkFresh,
  checkJoinFresh,
} from '../../../../src/domain/join/freshness.js';

const HOUR_MS = 3_600_000;
const expiresAt = '2030-01-01T12:00:00Z';
const expiresAtMs = Date.parse(expiresAt);

describe('checkJoinFresh', () => {
  const cases: { name: string; nowMs: number; minRemainingMs: number; state: string; remainingMs: number }[] =
    [
      {
        name: 'a day left, needs an hour',
        nowMs: expiresAtMs - 24 * HOUR_MS,
        minRemainingMs: HOUR_MS,
        state: 'fresh',
        remainingMs: 24 * HOUR_MS,
      },
      {
        name: 'exactly the minimum left',
        nowMs: expiresAtMs - HOUR_MS,
        minRemainingMs: HOUR_MS,
        state: 'fresh',
        remainingMs: HOUR_MS,
      },
      {
        name: 'a minute short of the minimum',
        nowMs: expiresAtMs - HOUR_MS + 60_000,
        minRemainingMs: HOUR_MS,
        state: 'expiring',
        remainingMs: HOUR_MS - 60_000,
      },
      {
        name: '1 ms left',
        nowMs: expiresAtMs - 1,
        minRemainingMs: HOUR_MS,
        state: 'expiring',
        remainingMs: 1,
      },
      {
        name: 'at the expiry instant',
        nowMs: expiresAtMs,
        minRemainingMs: HOUR_MS,
        state: 'expired',
        remainingMs: 0,
      },
      {
        name: 'a day past',
        nowMs: expiresAtMs + 24 * HOUR_MS,
        minRemainingMs: 0,
        state: 'expired',
        remainingMs: -24 * HOUR_MS,
      },
      {
        name: '1 ms left, needs nothing more',
        nowMs: expiresAtMs - 1,
        minRemainingMs: 0,
        state: 'fresh',
        remainingMs: 1,
      },
    ];
  for (const { name, nowMs, minRemainingMs, state, remainingMs } of cases) {
    it(`${name} → ${state}`, () => {
      assert.deepEqual(checkJoinFresh({ tokenExpiresAt: expiresAt }, nowMs, minRemainingMs), {
        state,
        expiresAtMs,
        remainingMs,
      });
    });
  }

  it('reads offsets in the expiry instant', () => {
    const result = checkJoinFresh({ tokenExpiresAt: '2030-01-01T14:00:00+02:00' }, expiresAtMs - 1000, 0);
    assert.equal(result.expiresAtMs, expiresAtMs);
  });
});

describe('checkCertificateKeyFresh', () => {
  it('uses certificateKeyExpiresAt', () => {
    const result = checkCertificateKeyFresh(
      { certificateKeyExpiresAt: expiresAt },
      expiresAtMs - 10 * 60_000,
      15 * 60_000,
    );
    assert.equal(result.state, 'expiring');
  });
  it('agrees with checkFresh', () => {
    assert.deepEqual(checkFresh(5000, 1000, 1000), { state: 'fresh', expiresAtMs: 5000, remainingMs: 4000 });
  });
});
