/**
 * A lock item as read, and how a holder and a lost lease are put into words: which items parse,
 * the hint for one that does not, the holder's expiry to the millisecond, the lost-lease error's
 * hint and details.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import { describeHolder, leaseLostError, parseLockRecord } from '../../../../src/domain/state/lease.js';

const NOW = Date.UTC(2026, 0, 1, 12);

describe('parseLockRecord', () => {
  it('reads a held item as stored', () => {
    const item = { owner: 'i-0abc', fence: 3, rvn: '3f1c-uuid', leaseMs: 600_000, expiresAtMs: NOW };
    assert.deepEqual(parseLockRecord(item, 'the lock'), item);
  });

  it('refuses an empty owner or rvn, and says what to do', () => {
    for (const [item, field] of [
      [{ owner: '', fence: 1 }, 'owner'],
      [{ owner: 'i-0abc', rvn: '', fence: 1 }, 'rvn'],
    ] as const) {
      assert.throws(
        () => parseLockRecord(item, 'the bootstrap lock'),
        (error: unknown) => {
          assert.ok(error instanceof StateConflictError);
          assert.equal(error.message, `the bootstrap lock is malformed (fields: ${field})`);
          assert.equal(
            error.hint,
            'delete the lock item; kboot recreates it (the fence restarts, so do this only when no instance is booting)',
          );
          return true;
        },
      );
    }
  });
});

describe('describeHolder', () => {
  const until = new Date(NOW).toISOString();
  it('a holder without an expiry', () => {
    assert.equal(describeHolder({ owner: 'i-a', fence: 3 }, NOW), 'held by i-a with fence 3 with no expiry');
  });
  it("a holder whose expiry has not come, has just come, or has passed by the reader's clock", () => {
    assert.equal(
      describeHolder({ owner: 'i-a', fence: 3, expiresAtMs: NOW }, NOW - 1),
      `held by i-a with fence 3 until ${until}`,
    );
    for (const reader of [NOW, NOW + 1]) {
      assert.equal(
        describeHolder({ owner: 'i-a', fence: 3, expiresAtMs: NOW }, reader),
        `held by i-a with fence 3 until ${until} (expired by the holder's clock)`,
      );
    }
  });
});

describe('leaseLostError', () => {
  const lease = { cluster: 'prod', lock: 'rotate', owner: 'i-me', fence: 4 } as const;
  it('says who holds it now, what to do, and carries both fences', () => {
    const error = leaseLostError(lease, { owner: 'i-new', fence: 5 }, NOW, 'renewing it');
    assert.equal(
      error.message,
      'lost the rotate lease of cluster "prod" while renewing it: this instance (i-me) held it with fence 4, now held by i-new with fence 5 with no expiry',
    );
    assert.equal(
      error.hint,
      'another instance took over after this lease expired; stop this instance and check `kboot status --cluster prod`',
    );
    assert.deepEqual(error.details, {
      cluster: 'prod',
      lock: 'rotate',
      owner: 'i-me',
      fence: 4,
      currentOwner: 'i-new',
      currentFence: 5,
    });
  });
  it('when the lock item is gone', () => {
    const error = leaseLostError(lease, undefined, NOW, 'releasing it');
    assert.match(error.message, /now the lock item is gone$/);
    assert.equal(error.details.currentOwner, undefined);
    assert.equal(error.details.currentFence, undefined);
  });
});
