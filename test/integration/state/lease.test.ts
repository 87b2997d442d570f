/**
 * The lease lock against moto with real processes: a race of 20 acquirers has exactly one
 * winner (round after round, the fence growing), and a holder killed with SIGKILL is replaced
 * once its lease expires — with a higher fence, so the dead holder's late release and init-flag
 * write are refused.
 */

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import { ensureTable } from '../../../src/adapters/aws/dynamodb-table.js';
import { systemClock } from '../../../src/core/clock.js';
import { StateConflictError } from '../../../src/core/errors.js';
import { newClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { holdLease } from '../../../src/domain/state/hold-lease.js';
import { releaseLease } from '../../../src/domain/state/lease.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { silentLogger } from '../../support/silent-logger.js';
import { driver, freshTable, motoDynamo, TABLE } from './helpers.js';

const ACQUIRERS = 20;
const ROUNDS = 5;

let moto: Moto;
let dynamodb: ReturnType<typeof motoDynamo>;
let store: DynamoDbClusterStore;

before(async () => {
  moto = await startMoto();
  dynamodb = motoDynamo(moto);
  store = new DynamoDbClusterStore({ dynamodb, tableName: TABLE });
});
after(async () => {
  dynamodb?.destroy();
  await moto?.stop();
});
beforeEach(async () => freshTable(moto, dynamodb));

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
