import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import {
  ACQUIRABLE_STATES,
  describeHolder,
  isAcquirable,
  type LeaseState,
  type LockRecord,
  leaseState,
  lockVersion,
  observe,
  parseLockRecord,
  releaseLease,
  takeoverDueMonoMs,
} from '../../../../src/domain/state/lease.js';
import { FakeLeaseLock } from './fake-lease-lock.js';

const NOW = 1_000_000;
const ME = 'i-me';
const OTHER = 'i-other';

const held: LockRecord = { owner: OTHER, expiresAtMs: NOW + 60_000, fence: 2, rvn: 'r-1', leaseMs: 60_000 };

const table: {
  name: string;
  record: LockRecord | undefined;
  takeOver?: LockRecord;
  state: LeaseState;
  acquirable: boolean;
}[] = [
  { name: 'no item', record: undefined, state: 'free', acquirable: true },
  {
    name: 'released (owner cleared, fence kept)',
    record: { fence: 4, releasedAtMs: NOW - 10 },
    state: 'released',
    acquirable: true,
  },
  {
    name: "another's, not watched",
    record: held,
    state: 'held-by-other',
    acquirable: false,
  },
  {
    name: "another's, past its expiry by every wall clock, not watched",
    record: { ...held, expiresAtMs: NOW - 3_600_000 },
    state: 'held-by-other',
    acquirable: false,
  },
  {
    name: "another's, watched unchanged (same rvn)",
    record: held,
    takeOver: { ...held },
    state: 'stale',
    acquirable: true,
  },
  {
    name: "another's, renewed since it was watched (new rvn)",
    record: { ...held, rvn: 'r-2' },
    takeOver: held,
    state: 'held-by-other',
    acquirable: false,
  },
  {
    name: "an older kboot's item (no rvn), watched unchanged",
    record: { owner: OTHER, expiresAtMs: NOW + 5, fence: 2 },
    takeOver: { owner: OTHER, expiresAtMs: NOW + 5, fence: 2 },
    state: 'stale',
    acquirable: true,
  },
  {
    name: "an older kboot's item (no rvn), renewed since (expiry moved)",
    record: { owner: OTHER, expiresAtMs: NOW + 9, fence: 2 },
    takeOver: { owner: OTHER, expiresAtMs: NOW + 5, fence: 2 },
    state: 'held-by-other',
    acquirable: false,
  },
  {
    name: 'a stuck item (owner, no expiry, no rvn), watched unchanged',
    record: { owner: OTHER, fence: 2 },
    takeOver: { owner: OTHER, fence: 2 },
    state: 'stale',
    acquirable: true,
  },
  {
    name: 'a stuck item, taken by someone else since (fence moved)',
    record: { owner: OTHER, fence: 3 },
    takeOver: { owner: OTHER, fence: 2 },
    state: 'held-by-other',
    acquirable: false,
  },
  {
    name: 'mine (restart)',
    record: { owner: ME, expiresAtMs: NOW + 60_000, fence: 7, rvn: 'r-9' },
    state: 'held-by-me',
    acquirable: true,
  },
];

describe('leaseState', () => {
  for (const { name, record, takeOver, state, acquirable } of table) {
    it(`${name} → ${state} (${acquirable ? 'acquirable' : 'not acquirable'})`, () => {
      assert.equal(leaseState(record, ME, takeOver), state);
      assert.equal(isAcquirable(state), acquirable);
    });
  }

  it('never lets anyone take a lock another instance holds', () => {
    assert.ok(!(ACQUIRABLE_STATES as readonly string[]).includes('held-by-other'));
  });
});

describe('watching a held lock (observe, takeoverDueMonoMs)', () => {
  it('keeps the first sighting while the version stays, restarts it on any change', () => {
    const first = observe(undefined, held, 100);
    assert.equal(first.sinceMonoMs, 100);
    assert.equal(observe(first, { ...held }, 5000), first);
    assert.equal(observe(first, { ...held, rvn: 'r-2' }, 5000).sinceMonoMs, 5000);
    const legacy = observe(undefined, { owner: OTHER, fence: 2 }, 0);
    assert.equal(observe(legacy, { owner: OTHER, fence: 2 }, 10), legacy);
    assert.equal(observe(legacy, { owner: OTHER, fence: 2, expiresAtMs: 1 }, 10).sinceMonoMs, 10);
  });

  it("is due one holder's lease after the first sighting (the contender's lease for an old item)", () => {
    assert.equal(takeoverDueMonoMs(observe(undefined, { ...held, leaseMs: 30_000 }, 100), 600_000), 30_100);
    assert.equal(takeoverDueMonoMs(observe(undefined, { owner: OTHER, fence: 2 }, 100), 45_000), 45_100);
  });

  it('versions differ whenever a holder wrote, and never depend on the reader', () => {
    assert.notEqual(lockVersion(held), lockVersion({ ...held, rvn: 'r-2' }));
    assert.notEqual(lockVersion({ owner: 'a', fence: 1 }), lockVersion({ owner: 'a', fence: 2 }));
    assert.notEqual(lockVersion({ owner: 'a', fence: 1 }), lockVersion({ owner: 'b', fence: 1 }));
    assert.equal(
      lockVersion({ ...held, expiresAtMs: 1 }),
      lockVersion(held),
      'the rvn decides, not the expiry',
    );
  });
});

describe('acquiring through a lock store (fake applying the domain rules)', () => {
  for (const { name, record, takeOver, acquirable } of table) {
    it(`${name}: ${acquirable ? 'acquired with the next fence' : 'lost, holder returned'}`, async () => {
      const lock = new FakeLeaseLock('prod', 'bootstrap', record && { ...record });
      const outcome = await lock.tryAcquire({
        owner: ME,
        nowMs: NOW,
        leaseMs: 60_000,
        ...(takeOver === undefined ? {} : { takeOver }),
      });
      assert.equal(outcome.acquired, acquirable);
      if (outcome.acquired) {
        assert.equal(outcome.lease.fence, (record?.fence ?? 0) + 1);
        assert.equal(outcome.lease.expiresAtMs, NOW + 60_000);
        assert.equal(lock.record?.owner, ME);
      } else {
        assert.equal(outcome.current.owner, record?.owner);
        assert.equal(outcome.current.fence, record?.fence);
        assert.deepEqual(lock.record, record);
      }
    });
  }

  it('keeps growing the fence across acquire / release cycles', async () => {
    const lock = new FakeLeaseLock();
    const fences: number[] = [];
    for (const owner of ['i-a', 'i-b', 'i-a']) {
      const outcome = await lock.tryAcquire({ owner, nowMs: NOW, leaseMs: 1000 });
      assert.ok(outcome.acquired);
      fences.push(outcome.lease.fence);
      await releaseLease(lock, outcome.lease, NOW);
      assert.equal(lock.record?.owner, undefined);
      assert.equal(lock.record?.fence, outcome.lease.fence);
    }
    assert.deepEqual(fences, [1, 2, 3]);
  });
});

describe('releaseLease', () => {
  it('refuses a stale holder (taken over with a higher fence) with StateConflictError', async () => {
    const lock = new FakeLeaseLock();
    const first = await lock.tryAcquire({ owner: 'i-dead', nowMs: NOW, leaseMs: 1000 });
    assert.ok(first.acquired);
    const second = await lock.tryAcquire({
      owner: 'i-new',
      nowMs: NOW + 1000,
      leaseMs: 1000,
      takeOver: lock.record as LockRecord,
    });
    assert.ok(second.acquired);
    await assert.rejects(releaseLease(lock, first.lease, NOW + 1500), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(error.message, /lost the bootstrap lease of cluster "prod" while releasing it/);
      assert.match(error.message, /i-dead\) held it with fence 1, now held by i-new with fence 2/);
      return true;
    });
    assert.equal(lock.record?.owner, 'i-new');
  });
});

describe('parseLockRecord / describeHolder', () => {
  it('defaults a missing fence to 0 and names malformed fields', () => {
    assert.deepEqual(parseLockRecord({}, 'the lock'), { fence: 0 });
    assert.throws(
      () => parseLockRecord({ owner: 5, fence: -1 }, 'the bootstrap lock'),
      /the bootstrap lock is malformed \(fields: owner, fence\)/,
    );
  });
  it('describes each holder state', () => {
    assert.equal(describeHolder(undefined, NOW), 'the lock item is gone');
    assert.equal(describeHolder({ fence: 3 }, NOW), 'it is free (fence 3)');
    assert.match(
      describeHolder({ owner: OTHER, expiresAtMs: NOW - 5, fence: 3 }, NOW),
      /held by i-other with fence 3 until .*Z \(expired by the holder's clock\)/,
    );
  });
});
