/**
 * The lease lock against moto with real processes: a race of 20 acquirers has exactly one
 * winner (round after round, the fence growing), and a holder killed with SIGKILL is replaced
 * once its lease expires — with a higher fence, so the dead holder's late release and init-flag
 * write are refused.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ensureTable } from '../../../src/adapters/aws/dynamodb-table.js';
import { type Clock, systemClock } from '../../../src/core/clock.js';
import { StateConflictError } from '../../../src/core/errors.js';
import { newClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { acquireLease, holdLease } from '../../../src/domain/state/hold-lease.js';
import { type LeaseRef, type LockRecord, releaseLease } from '../../../src/domain/state/lease.js';
import { silentLogger } from '../../support/silent-logger.js';
import { driver, TABLE, useStateTable } from './helpers.js';

const ACQUIRERS = 20;
const ROUNDS = 5;

const { moto, dynamodb, store } = useStateTable();

async function lockItem(cluster: string, lock = 'bootstrap'): Promise<Record<string, unknown> | undefined> {
  const out = await dynamodb.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `cluster#${cluster}` }, sk: { S: `lock#${lock}` } },
      ConsistentRead: true,
    }),
  );
  return out.Item === undefined ? undefined : unmarshall(out.Item);
}

describe('lease lock against DynamoDB (moto)', () => {
  it('ensureTable is idempotent and leaves an ACTIVE on-demand table', async () => {
    assert.deepEqual(await ensureTable(dynamodb, TABLE), { created: false });
    assert.deepEqual(await ensureTable(dynamodb, 'kboot-other', { pollMs: 50 }), { created: true });
  });

  it(`${ACQUIRERS} processes racing for one lock: exactly one wins, ${ROUNDS} rounds in a row`, {
    timeout: 240_000,
  }, async () => {
    const racers = Array.from({ length: ACQUIRERS }, (_, i) =>
      driver(moto, [
        'acquire',
        '--cluster',
        'race',
        '--owner',
        `i-${i}`,
        '--lease-ms',
        '60000',
        '--wait-for-go',
      ]),
    );
    try {
      await Promise.all(racers.map((racer) => racer.next('ready')));
      for (let round = 1; round <= ROUNDS; round++) {
        // All processes are loaded and connected; one line on stdin starts every attempt at once.
        for (const racer of racers) racer.child.stdin.write('go\n');
        const results = await Promise.all(racers.map((racer) => racer.nth(1 + round)));
        const winners = results.filter((r) => r.event === 'acquired');
        const losers = results.filter((r) => r.event === 'lost');
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
        assert.equal(losers.length, ACQUIRERS - 1);
        const winner = { owner: String(winners[0]?.owner), fence: Number(winners[0]?.fence) };
        assert.equal(winner.fence, round, 'the fence grows by one per acquisition');
        for (const loser of losers) {
          // The lost race comes back with the holder, from the failed write itself.
          assert.equal(loser.holder, winner.owner);
          assert.equal(loser.holderFence, round);
        }
        assert.equal((await lockItem('race'))?.owner, winner.owner);
        // Free it for the next round: the next race goes through the "released" rule.
        await releaseLease(
          store.leaseLock('race', 'bootstrap'),
          { cluster: 'race', lock: 'bootstrap', owner: winner.owner, fence: winner.fence },
          Date.now(),
        );
        const released = await lockItem('race');
        assert.equal(released?.owner, undefined);
        assert.equal(released?.fence, round, 'release keeps the fence');
      }
    } finally {
      for (const racer of racers) racer.child.stdin.end();
    }
    const exits = await Promise.all(racers.map((racer) => racer.exited));
    assert.deepEqual(
      exits.map((e) => e.code),
      Array(ACQUIRERS).fill(0),
      racers.map((r) => r.stderr).join('\n'),
    );
  });

  it('a holder killed with SIGKILL is replaced after its lease expires; its late writes are refused', {
    timeout: 60_000,
  }, async () => {
    const cluster = 'crash';
    await store.putRecordIfAbsent(
      newClusterRecord(
        {
          clusterName: cluster,
          region: 'us-east-1',
          apiEndpoint: 'api.crash.example.com',
          podCidr: '10.244.0.0/16',
          serviceCidr: '10.96.0.0/12',
          kubernetesVersion: '1.31.2',
          createdBy: 'test',
          createdAt: new Date().toISOString(),
        },
        TABLE,
      ),
    );
    const doomed = driver(moto, [
      'hold',
      '--cluster',
      cluster,
      '--owner',
      'i-doomed',
      '--lease-ms',
      '1500',
      '--renew-ms',
      '500',
      '--work-ms',
      '60000',
    ]);
    const acquired = await doomed.next('acquired');
    assert.equal(acquired.fence, 1);
    await new Promise((resolve) => setTimeout(resolve, 700)); // let it renew at least once
    doomed.child.kill('SIGKILL');
    assert.equal((await doomed.exited).signal, 'SIGKILL');
    const orphan = await lockItem(cluster);
    assert.equal(orphan?.owner, 'i-doomed');
    const orphanExpiresAtMs = orphan?.expiresAtMs as number;

    const lock = store.leaseLock(cluster, 'bootstrap');
    const heir = await holdLease(
      lock,
      {
        owner: 'i-heir',
        clock: systemClock,
        logger: silentLogger(),
        leaseMs: 1500,
        acquireDeadlineMs: Date.now() + 15_000,
        pollMs: 200,
      },
      async (_signal, fence) => {
        const acquiredAtMs = (await lockItem(cluster))?.acquiredAtMs as number;
        const initialized = await store.markInitialized(
          { cluster, lock: 'bootstrap', owner: 'i-heir', fence },
          Date.now(),
        );
        return { fence, acquiredAtMs, initialized };
      },
    );
    assert.equal(heir.fence, 2, 'the heir holds a higher fence');
    assert.ok(heir.acquiredAtMs >= orphanExpiresAtMs, 'taken only after the dead lease expired');
    assert.deepEqual({ by: heir.initialized.by, fence: heir.initialized.fence }, { by: 'i-heir', fence: 2 });

    const stale = { cluster, lock: 'bootstrap' as const, owner: 'i-doomed', fence: 1 };
    await assert.rejects(releaseLease(lock, stale, Date.now()), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /lost the bootstrap lease of cluster "crash" while releasing it: this instance \(i-doomed\) held it with fence 1, now it is free \(fence 2\)/,
      );
      return true;
    });
    await assert.rejects(store.markInitialized(stale, Date.now()), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /cannot mark cluster "crash" initialized: this instance \(i-doomed, fence 1\) no longer holds the bootstrap lease of cluster "crash"/,
      );
      assert.match(error.message, /already initialized by i-heir/);
      return true;
    });
    assert.equal((await store.readRecord(cluster))?.initialized?.by, 'i-heir');
  });
});

/** A clock whose sleeps return at once, moving both its clocks: real I/O, no real waiting. */
function jumpingClock(wallOffsetMs = 0): Clock & { slept: number[] } {
  let monoMs = 0;
  const slept: number[] = [];
  return {
    slept,
    nowMs: () => Date.now() + wallOffsetMs + monoMs,
    monotonicMs: () => monoMs,
    sleepMs: async (durationMs, signal) => {
      signal?.throwIfAborted();
      slept.push(durationMs);
      monoMs += durationMs;
    },
  };
}

async function putLock(cluster: string, lock: Record<string, unknown>): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: marshall({ pk: `cluster#${cluster}`, sk: 'lock#bootstrap', ...lock }),
    }),
  );
}

describe('lease lock against DynamoDB: fences, owners and record version numbers (moto)', () => {
  const NOW = Date.now();

  it('writes a fresh rvn and the lease duration on every acquisition and renewal; release clears them', async () => {
    const lock = store.leaseLock('rvn', 'bootstrap');
    const first = await lock.tryAcquire({ owner: 'i-a', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(first.acquired);
    const item = await lockItem('rvn');
    assert.equal(item?.rvn, first.lease.rvn);
    assert.equal(item?.leaseMs, 30_000);
    assert.deepEqual([item?.acquiredAtMs, item?.expiresAtMs], [NOW, NOW + 30_000]);
    const renewed = await lock.renew(first.lease, { nowMs: NOW + 1000, leaseMs: 20_000 });
    assert.ok(renewed.renewed);
    assert.notEqual(renewed.rvn, first.lease.rvn);
    const afterRenewal = await lockItem('rvn');
    assert.equal(afterRenewal?.rvn, renewed.rvn);
    assert.deepEqual(
      [
        afterRenewal?.renewedAtMs,
        afterRenewal?.expiresAtMs,
        afterRenewal?.leaseMs,
        afterRenewal?.acquiredAtMs,
      ],
      [NOW + 1000, NOW + 21_000, 20_000, NOW],
    );
    await releaseLease(lock, first.lease, NOW + 2000);
    const released = await lockItem('rvn');
    assert.deepEqual(
      [released?.owner, released?.rvn, released?.leaseMs, released?.expiresAtMs, released?.releasedAtMs],
      [undefined, undefined, undefined, undefined, NOW + 2000],
    );
    // The next holder's item says when it was taken, and nothing of the last one's renewal or release.
    const next = await lock.tryAcquire({ owner: 'i-b', nowMs: NOW + 3000, leaseMs: 30_000 });
    assert.ok(next.acquired);
    const taken = await lockItem('rvn');
    assert.deepEqual(
      [taken?.owner, taken?.fence, taken?.acquiredAtMs, taken?.renewedAtMs, taken?.releasedAtMs],
      ['i-b', 2, NOW + 3000, undefined, undefined],
    );
  });

  it('a restarted process of the same instance takes the lease with a new fence; the old one can no longer renew, release or mark', async () => {
    await store.putRecordIfAbsent(
      newClusterRecord(
        {
          clusterName: 'restart',
          region: 'us-east-1',
          apiEndpoint: 'api.restart.example.com',
          podCidr: '10.244.0.0/16',
          serviceCidr: '10.96.0.0/12',
          kubernetesVersion: '1.31.2',
          createdBy: 'test',
          createdAt: new Date().toISOString(),
        },
        TABLE,
      ),
    );
    const lock = store.leaseLock('restart', 'bootstrap');
    const old = await lock.tryAcquire({ owner: 'i-same', nowMs: NOW, leaseMs: 30_000 });
    const fresh = await lock.tryAcquire({ owner: 'i-same', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(old.acquired && fresh.acquired);
    assert.equal(fresh.lease.fence, old.lease.fence + 1);
    const renew = await lock.renew(old.lease, { nowMs: NOW, leaseMs: 30_000 });
    assert.equal(renew.renewed, false);
    assert.deepEqual(
      [renew.current?.owner, renew.current?.fence],
      ['i-same', 2],
      'the refusal shows the holder',
    );
    const release = await lock.release(old.lease, NOW);
    assert.equal(release.released, false);
    assert.deepEqual([release.current?.owner, release.current?.fence], ['i-same', 2]);
    await assert.rejects(store.markInitialized(old.lease, NOW), StateConflictError);
    const item = await lockItem('restart');
    assert.deepEqual([item?.owner, item?.fence, item?.rvn], ['i-same', 2, fresh.lease.rvn]);
    assert.equal((await lock.renew(fresh.lease, { nowMs: NOW, leaseMs: 30_000 })).renewed, true);
  });

  it('release checks owner and fence: another owner with the same fence, and a second release, are refused', async () => {
    const lock = store.leaseLock('release', 'bootstrap');
    const held = await lock.tryAcquire({ owner: 'i-a', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(held.acquired);
    const impostor: LeaseRef = {
      cluster: 'release',
      lock: 'bootstrap',
      owner: 'i-b',
      fence: held.lease.fence,
    };
    assert.equal((await lock.release(impostor, NOW)).released, false);
    assert.equal((await lockItem('release'))?.owner, 'i-a');
    assert.equal((await lock.release(held.lease, NOW)).released, true);
    const again = await lock.release(held.lease, NOW);
    assert.equal(again.released, false);
    const next = await lock.tryAcquire({ owner: 'i-b', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(next.acquired);
    assert.equal((await lock.release(held.lease, NOW)).released, false, 'a late release of fence 1');
    assert.equal((await lockItem('release'))?.owner, 'i-b');
  });

  it('a takeover is a write conditional on the watched rvn: refused once the holder renewed', async () => {
    const lock = store.leaseLock('takeover', 'bootstrap');
    const held = await lock.tryAcquire({ owner: 'i-a', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(held.acquired);
    const seen = (await lock.read()) as LockRecord;
    assert.equal((await lock.renew(held.lease, { nowMs: NOW, leaseMs: 30_000 })).renewed, true);
    const refused = await lock.tryAcquire({ owner: 'i-b', nowMs: NOW, leaseMs: 30_000, takeOver: seen });
    assert.equal(refused.acquired, false);
    assert.deepEqual(
      refused.acquired ? undefined : [refused.current.owner, refused.current.fence, refused.current.rvn],
      ['i-a', 1, (await lock.read())?.rvn],
      'the refusal shows the lock as it is now',
    );
    const now = (await lock.read()) as LockRecord;
    const taken = await lock.tryAcquire({ owner: 'i-b', nowMs: NOW, leaseMs: 30_000, takeOver: now });
    assert.ok(taken.acquired);
    assert.equal(taken.lease.fence, 2);
    assert.equal((await lock.renew(held.lease, { nowMs: NOW, leaseMs: 30_000 })).renewed, false);
  });

  it('a contender takes over exactly one lease after it first saw the rvn, not a poll earlier', async () => {
    const lock = store.leaseLock('boundary', 'bootstrap');
    const dead = await lock.tryAcquire({ owner: 'i-dead', nowMs: NOW, leaseMs: 30_000 });
    assert.ok(dead.acquired);
    const clock = jumpingClock();
    const attemptsAtMs: number[] = [];
    const tryAcquire = lock.tryAcquire.bind(lock);
    lock.tryAcquire = (request, signal) => {
      attemptsAtMs.push(clock.monotonicMs());
      return tryAcquire(request, signal);
    };
    const outcome = await acquireLease(lock, {
      owner: 'i-heir',
      clock,
      logger: silentLogger(),
      leaseMs: 60_000,
      pollMs: 7000,
      random: () => 0.5,
      acquireDeadlineMs: clock.nowMs() + 600_000,
    });
    assert.ok(outcome.acquired);
    assert.equal(outcome.lease.fence, 2);
    assert.equal(attemptsAtMs.at(-1), 30_000, "the holder's recorded lease, 30 s, decides");
    assert.ok(
      attemptsAtMs.slice(0, -1).every((atMs) => atMs < 30_000),
      `no attempt took it earlier: ${attemptsAtMs}`,
    );
  });

  it('a live holder is never taken over, even by a contender whose clock is 10 min ahead', async () => {
    const lock = store.leaseLock('live', 'bootstrap');
    const live = await lock.tryAcquire({ owner: 'i-live', nowMs: NOW - 600_000, leaseMs: 30_000 });
    assert.ok(live.acquired);
    const clock = jumpingClock(600_000);
    const tryAcquire = lock.tryAcquire.bind(lock);
    lock.tryAcquire = async (request, signal) => {
      // The holder renews (its clock 10 min behind) between the contender's looks.
      assert.ok((await lock.renew(live.lease, { nowMs: Date.now() - 600_000, leaseMs: 30_000 })).renewed);
      return tryAcquire(request, signal);
    };
    const outcome = await acquireLease(lock, {
      owner: 'i-ahead',
      clock,
      logger: silentLogger(),
      leaseMs: 30_000,
      pollMs: 10_000,
      acquireDeadlineMs: clock.nowMs() + 300_000,
    });
    assert.equal(outcome.acquired, false);
    assert.equal((await lockItem('live'))?.owner, 'i-live');
  });

  it('a stuck item of an older kboot (owner, no expiry, no rvn) is taken over after a full lease unchanged', async () => {
    await putLock('stuck', { owner: 'i-gone', fence: 4 });
    const clock = jumpingClock();
    const outcome = await acquireLease(store.leaseLock('stuck', 'bootstrap'), {
      owner: 'i-heir',
      clock,
      logger: silentLogger(),
      leaseMs: 30_000,
      pollMs: 5000,
      acquireDeadlineMs: clock.nowMs() + 120_000,
    });
    assert.ok(outcome.acquired);
    assert.equal(outcome.lease.fence, 5);
    assert.equal(clock.monotonicMs(), 30_000);
    const item = await lockItem('stuck');
    assert.deepEqual([item?.owner, item?.fence], ['i-heir', 5]);
  });

  it("an older kboot's item with an expiry (no rvn) is taken over after a full lease unchanged", async () => {
    await putLock('expired', { owner: 'i-gone', fence: 4, expiresAtMs: NOW - 1000 });
    const clock = jumpingClock();
    const outcome = await acquireLease(store.leaseLock('expired', 'bootstrap'), {
      owner: 'i-heir',
      clock,
      logger: silentLogger(),
      leaseMs: 30_000,
      pollMs: 5000,
      acquireDeadlineMs: clock.nowMs() + 40_000,
    });
    assert.ok(outcome.acquired);
    assert.equal(outcome.lease.fence, 5);
    const item = await lockItem('expired');
    assert.deepEqual([item?.owner, item?.fence], ['i-heir', 5]);
  });

  it("an older kboot's item is not taken over while its holder keeps moving its expiry", async () => {
    await putLock('legacy', { owner: 'i-old', fence: 4, expiresAtMs: NOW });
    const lock = store.leaseLock('legacy', 'bootstrap');
    let expiresAtMs = NOW;
    const tryAcquire = lock.tryAcquire.bind(lock);
    lock.tryAcquire = async (request, signal) => {
      expiresAtMs += 1000;
      await putLock('legacy', { owner: 'i-old', fence: 4, expiresAtMs });
      return tryAcquire(request, signal);
    };
    const clock = jumpingClock();
    const outcome = await acquireLease(lock, {
      owner: 'i-new',
      clock,
      logger: silentLogger(),
      leaseMs: 30_000,
      pollMs: 10_000,
      acquireDeadlineMs: clock.nowMs() + 120_000,
    });
    assert.equal(outcome.acquired, false);
    assert.equal((await lockItem('legacy'))?.owner, 'i-old');
  });
});
