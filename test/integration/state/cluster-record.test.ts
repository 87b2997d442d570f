/**
 * The cluster record against moto: conditional put (one record, ever), malformed and newer
 * records refused with the field or version named, the init flag (only the lease holder, once),
 * failure and join material stamps, members, and the one-call path of a worker that finds the
 * cluster initialized.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '../../../src/adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import { systemClock } from '../../../src/core/clock.js';
import { AwsDeniedError, ConfigError, StateConflictError } from '../../../src/core/errors.js';
import { type ClusterRecord, newClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { waitForInitialized } from '../../../src/domain/state/wait-initialized.js';
import { startAwsErrorStub } from '../../support/aws-stub.js';
import { tempDir } from '../../support/paths.js';
import { silentLogger } from '../../support/silent-logger.js';
import { TABLE, useStateTable } from './helpers.js';

const { moto, dynamodb, store } = useStateTable();

function record(overrides: Partial<Parameters<typeof newClusterRecord>[0]> = {}): ClusterRecord {
  return newClusterRecord(
    {
      clusterName: 'prod',
      region: 'us-east-1',
      apiEndpoint: 'api.prod.example.com',
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
      kubernetesVersion: '1.31.2',
      createdBy: 'i-first',
      createdAt: '2025-01-01T00:00:00.000Z',
      ...overrides,
    },
    TABLE,
  );
}

async function putRaw(item: Record<string, unknown>): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({ TableName: TABLE, Item: marshall(item, { removeUndefinedValues: true }) }),
  );
}

async function takeBootstrap(cluster: string, owner: string, leaseMs = 60_000) {
  const outcome = await store
    .leaseLock(cluster, 'bootstrap')
    .tryAcquire({ owner, nowMs: Date.now(), leaseMs });
  assert.ok(outcome.acquired);
  return outcome.lease;
}

describe('cluster record', () => {
  it('is written once: a second writer gets the existing record and the fields that differ', async () => {
    const first = await store.putRecordIfAbsent(record());
    assert.equal(first.created, true);
    const same = await store.putRecordIfAbsent(
      record({ createdBy: 'i-second', apiEndpoint: 'api.prod.example.com:6443' }),
    );
    assert.deepEqual(same, { created: false, record: record(), differences: [] });
    const other = await store.putRecordIfAbsent(record({ createdBy: 'i-third', podCidr: '192.168.0.0/16' }));
    assert.equal(other.created, false);
    if (!other.created) assert.deepEqual(other.differences, ['podCidr']);
    assert.deepEqual(await store.readRecord('prod'), record());
  });

  it('ten masters writing at once: one record, and every one of them sees it', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.putRecordIfAbsent(record({ createdBy: `i-${i}`, kubernetesVersion: `1.31.${i}` })),
      ),
    );
    const created = outcomes.filter((o) => o.created);
    assert.equal(created.length, 1);
    const winner = created[0]?.record.createdBy;
    for (const outcome of outcomes) assert.equal(outcome.record.createdBy, winner);
    assert.equal((await store.readRecord('prod'))?.createdBy, winner);
  });

  it('a malformed record is refused, naming the field', async () => {
    await putRaw({ pk: 'cluster#prod', sk: 'meta', ...record(), podCidr: 16 });
    await assert.rejects(store.readRecord('prod'), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.equal(
        error.message,
        'cluster record for "prod" in table kboot is malformed: field podCidr: expected string, got number 16',
      );
      return true;
    });
  });

  it('a record from a newer kboot is refused, naming the version and telling to upgrade', async () => {
    await putRaw({ pk: 'cluster#prod', sk: 'meta', ...record(), schemaVersion: 2 });
    await assert.rejects(store.readRecord('prod'), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(error.message, /has schema version 2, newer than this kboot supports \(1\)/);
      assert.match(error.hint ?? '', /upgrade kboot/);
      return true;
    });
  });

  it('a missing table is a ConfigError naming it', async () => {
    const elsewhere = new DynamoDbClusterStore({ dynamodb, tableName: 'no-such-table' });
    await assert.rejects(elsewhere.readRecord('prod'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /DynamoDB table no-such-table does not exist/);
      return true;
    });
  });
});

describe('init flag', () => {
  it('is set once, only by the holder of the bootstrap lease', async () => {
    await store.putRecordIfAbsent(record());
    const lease = await takeBootstrap('prod', 'i-first');
    const initialized = await store.markInitialized(lease, Date.now());
    assert.deepEqual({ by: initialized.by, fence: initialized.fence }, { by: 'i-first', fence: 1 });
    assert.deepEqual((await store.readRecord('prod'))?.initialized, initialized);
    await assert.rejects(store.markInitialized(lease, Date.now()), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /^cannot mark cluster "prod" initialized: it was already initialized by i-first at .* \(fence 1\)$/,
      );
      return true;
    });
  });

  it('is refused to a stale fence of the same owner (a restarted process took the lease again)', async () => {
    await store.putRecordIfAbsent(record());
    const old = await takeBootstrap('prod', 'i-same');
    const restarted = await takeBootstrap('prod', 'i-same');
    assert.equal(restarted.fence, old.fence + 1);
    await assert.rejects(store.markInitialized(old, Date.now()), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /this instance \(i-same, fence 1\) no longer holds the bootstrap lease of cluster "prod": held by i-same with fence 2/,
      );
      return true;
    });
    assert.equal((await store.readRecord('prod'))?.initialized, undefined);
    const initialized = await store.markInitialized(restarted, Date.now());
    assert.equal(initialized.fence, 2);
  });

  it("takes no wall clock into account: the holder's own clock far ahead or behind changes nothing", async () => {
    await store.putRecordIfAbsent(record());
    const lease = await takeBootstrap('prod', 'i-skewed', 1000);
    const initialized = await store.markInitialized(lease, lease.expiresAtMs + 3_600_000);
    assert.equal(initialized.by, 'i-skewed');
  });

  it('is refused to someone who never held the lease, and when there is no record', async () => {
    await assert.rejects(
      store.markInitialized({ cluster: 'prod', lock: 'bootstrap', owner: 'i-x', fence: 1 }, Date.now()),
      /no longer holds the bootstrap lease of cluster "prod": the lock item is gone; there is no cluster record for "prod" in table kboot/,
    );
    const lease = await takeBootstrap('prod', 'i-first');
    await assert.rejects(
      store.markInitialized(lease, Date.now()),
      /StateConflictError: cannot mark cluster "prod" initialized: there is no cluster record/,
    );
  });
});

describe('failures, join material, members', () => {
  it('records the last failure (redacted) and join material stamps, refusing to go back in time', async () => {
    await assert.rejects(
      store.recordFailure('prod', { by: 'i-1', at: '2025-01-01T00:00:00.000Z', step: 'init', message: 'x' }),
      /cannot record the failure: there is no cluster record for "prod"/,
    );
    const early = { updatedAt: '2025-01-01T00:00:00.000Z', tokenExpiresAt: '2025-01-02T00:00:00.000Z' };
    const rotating = await store
      .leaseLock('prod', 'rotate')
      .tryAcquire({ owner: 'i-1', nowMs: Date.now(), leaseMs: 60_000 });
    assert.ok(rotating.acquired);
    for (const lease of [undefined, rotating.lease]) {
      await assert.rejects(store.updateJoinMaterial('prod', early, undefined, lease), (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.equal(
          error.message,
          'cannot record the join material: there is no cluster record for "prod" in table kboot',
        );
        return true;
      });
    }
    await store.putRecordIfAbsent(record());
    await store.recordFailure('prod', {
      by: 'i-1',
      at: '2025-01-01T00:10:00.000Z',
      step: 'kubeadm-init',
      message: 'kubeadm init --token abcdef.0123456789abcdef failed',
    });
    assert.equal(
      (await store.readRecord('prod'))?.lastFailure?.message,
      'kubeadm init --token [REDACTED] failed',
    );
    // A long failure (kubeadm's whole output) is cut to its first 2000 characters.
    await store.recordFailure('prod', {
      by: 'i-1',
      at: '2025-01-01T00:20:00.000Z',
      step: 'kubeadm-init',
      message: `${'x'.repeat(1999)}yz`,
    });
    assert.equal((await store.readRecord('prod'))?.lastFailure?.message, `${'x'.repeat(1999)}y`);

    const stamp = { updatedAt: '2025-01-02T00:00:00.000Z', tokenExpiresAt: '2025-01-03T00:00:00.000Z' };
    await store.updateJoinMaterial('prod', stamp);
    const newer = {
      ...stamp,
      updatedAt: '2025-01-02T06:00:00.000Z',
      certificateKeyExpiresAt: '2025-01-02T08:00:00.000Z',
    };
    await store.updateJoinMaterial('prod', newer);
    await assert.rejects(store.updateJoinMaterial('prod', stamp), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.equal(
        error.message,
        'not recording join material of cluster "prod" updated at 2025-01-02T00:00:00.000Z: the record already has newer join material (updated at 2025-01-02T06:00:00.000Z)',
      );
      assert.equal(error.hint, 'another instance rotated the join material more recently; nothing to do');
      return true;
    });
    assert.deepEqual((await store.readRecord('prod'))?.joinMaterial, newer);
    // The same stamp again (a retried write) is not older: accepted.
    await store.updateJoinMaterial('prod', newer);
    assert.deepEqual((await store.readRecord('prod'))?.joinMaterial, newer);
  });

  it('keeps the newest member record, and status reads everything in one query', async () => {
    await store.putRecordIfAbsent(record());
    await store.recordMember('prod', {
      instanceId: 'i-2',
      role: 'worker',
      joinedAt: '2025-01-01T02:00:00.000Z',
    });
    await store.recordMember('prod', {
      instanceId: 'i-2',
      role: 'worker',
      joinedAt: '2025-01-01T01:00:00.000Z',
    });
    await store.recordMember('prod', {
      instanceId: 'i-1',
      role: 'control-plane',
      joinedAt: '2025-01-01T00:30:00.000Z',
      fence: 1,
    });
    await takeBootstrap('prod', 'i-1');
    const state = await store.readClusterState('prod');
    assert.deepEqual(
      state?.members.map((m) => [m.instanceId, m.joinedAt]),
      [
        ['i-1', '2025-01-01T00:30:00.000Z'],
        ['i-2', '2025-01-01T02:00:00.000Z'],
      ],
    );
    assert.equal(state?.locks.bootstrap?.owner, 'i-1');
    // A retried write of the same join (same joinedAt) replaces the record; fields left undefined are dropped.
    await store.recordMember('prod', {
      instanceId: 'i-1',
      role: 'control-plane',
      joinedAt: '2025-01-01T00:30:00.000Z',
      fence: 2,
      nodeName: undefined,
    });
    assert.deepEqual(
      (await store.readClusterState('prod'))?.members.map((m) => [m.instanceId, m.fence]),
      [
        ['i-1', 2],
        ['i-2', undefined],
      ],
    );
    await store.removeMember('prod', 'i-2');
    assert.deepEqual(
      (await store.readClusterState('prod'))?.members.map((m) => m.instanceId),
      ['i-1'],
    );
    assert.equal(state?.record?.clusterName, 'prod');
    assert.equal(await store.readClusterState('nothing-here'), undefined);
    await store.putRecordIfAbsent(record({ clusterName: 'dev' }));
    assert.deepEqual(
      (await store.listClusterStates()).map((s) => s.cluster),
      ['dev', 'prod'],
    );
  });
});

describe('waiting for initialization', () => {
  it('a worker that finds the cluster initialized makes exactly one DynamoDB call', async () => {
    await store.putRecordIfAbsent(record());
    await store.markInitialized(await takeBootstrap('prod', 'i-first'), Date.now());
    const traceFile = path.join(tempDir(), 'aws-calls.jsonl');
    const saved = { ...process.env };
    Object.assign(process.env, moto.awsEnv());
    const clients = new AwsClients({ region: 'us-east-1', logger: silentLogger(), traceFile });
    try {
      const workerStore = new DynamoDbClusterStore({ dynamodb: await clients.dynamodb(), tableName: TABLE });
      const found = await waitForInitialized(workerStore, 'prod', {
        deadlineMs: Date.now() + 30_000,
        clock: systemClock,
        logger: silentLogger(),
      });
      assert.equal(found.initialized.by, 'i-first');
    } finally {
      clients.destroy();
      process.env = saved;
    }
    assert.deepEqual(clients.calls, [{ service: 'dynamodb', operation: 'GetItem' }]);
    const traced = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      traced.map((c) => c.operation),
      ['GetItem'],
    );
  });

  it('waits through a missing record until the first master writes it and initializes', async () => {
    const waiting = waitForInitialized(store, 'prod', {
      deadlineMs: Date.now() + 20_000,
      pollMs: 100,
      clock: systemClock,
      logger: silentLogger(),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store.putRecordIfAbsent(record());
    await new Promise((resolve) => setTimeout(resolve, 300));
    await store.markInitialized(await takeBootstrap('prod', 'i-first'), Date.now());
    assert.equal((await waiting).initialized.by, 'i-first');
  });
});

describe('refused calls', () => {
  it('every call stops at an aborted signal with its reason, and writes nothing', async () => {
    await store.putRecordIfAbsent(record());
    const lease = await takeBootstrap('prod', 'i-1');
    const controller = new AbortController();
    const reason = new Error('stopped by SIGTERM');
    controller.abort(reason);
    const signal = controller.signal;
    const stamp = { updatedAt: '2025-01-02T00:00:00.000Z', tokenExpiresAt: '2025-01-03T00:00:00.000Z' };
    const failure = { by: 'i-1', at: '2025-01-01T00:00:00.000Z', step: 'init', message: 'x' };
    const member = { instanceId: 'i-1', role: 'worker' as const, joinedAt: '2025-01-01T00:00:00.000Z' };
    const calls: (() => Promise<unknown>)[] = [
      () => store.readRecord('prod', signal),
      () => store.putRecordIfAbsent(record({ clusterName: 'other' }), signal),
      () => store.markInitialized(lease, Date.now(), signal),
      () => store.recordFailure('prod', failure, signal),
      () => store.updateJoinMaterial('prod', stamp, signal),
      () => store.updateJoinMaterial('prod', stamp, signal, lease),
      () => store.recordMember('prod', member, signal),
    ];
    for (const call of calls) await assert.rejects(call(), (error: unknown) => error === reason);
    const state = await store.readClusterState('prod');
    assert.equal(state?.record?.initialized, undefined);
    assert.equal(state?.record?.lastFailure, undefined);
    assert.equal(state?.record?.joinMaterial, undefined);
    assert.deepEqual(state?.members, []);
    assert.equal(await store.readRecord('other'), undefined);
    await store.recordMember('prod', member);
    await assert.rejects(store.removeMember('prod', 'i-1', signal), (error: unknown) => error === reason);
    assert.equal((await store.readClusterState('prod'))?.members.length, 1);
  });

  it('every call says what it was doing, in which table, and the permission it needs', async () => {
    const denying = await startAwsErrorStub(400, 'AccessDeniedException', 'not authorized', 'json');
    const client = new DynamoDBClient({
      endpoint: denying.endpoint,
      maxAttempts: 1,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const refused = new DynamoDbClusterStore({ dynamodb: client, tableName: TABLE });
    const lease = { cluster: 'prod', lock: 'bootstrap' as const, owner: 'i-1', fence: 1 };
    const stamp = { updatedAt: '2025-01-02T00:00:00.000Z', tokenExpiresAt: '2025-01-03T00:00:00.000Z' };
    const failure = { by: 'i-1', at: '2025-01-01T00:00:00.000Z', step: 'init', message: 'x' };
    const member = { instanceId: 'i-1', role: 'worker' as const, joinedAt: '2025-01-01T00:00:00.000Z' };
    const calls: [() => Promise<unknown>, string, string][] = [
      [() => refused.readRecord('prod'), 'reading the cluster record of "prod"', 'GetItem'],
      [() => refused.putRecordIfAbsent(record()), 'writing the cluster record of "prod"', 'PutItem'],
      [
        () => refused.markInitialized(lease, Date.now()),
        'marking cluster "prod" initialized',
        'TransactWriteItems',
      ],
      [() => refused.recordFailure('prod', failure), 'recording a failure of cluster "prod"', 'UpdateItem'],
      [
        () => refused.updateJoinMaterial('prod', stamp),
        'recording join material of cluster "prod"',
        'UpdateItem',
      ],
      [
        () => refused.updateJoinMaterial('prod', stamp, undefined, { ...lease, lock: 'rotate' }),
        'recording join material of cluster "prod"',
        'TransactWriteItems',
      ],
      [() => refused.recordMember('prod', member), 'recording member i-1 of cluster "prod"', 'PutItem'],
      [() => refused.removeMember('prod', 'i-1'), 'removing member i-1 of cluster "prod"', 'DeleteItem'],
    ];
    try {
      for (const [call, doing, action] of calls) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof AwsDeniedError, String(error));
          assert.ok(
            error.message.startsWith(`AWS refused ${doing} in DynamoDB table kboot: `),
            error.message,
          );
          assert.equal(
            error.hint,
            `grant dynamodb:${action} to the instance role or the credentials in use (see 'kboot iam-policy')`,
          );
          return true;
        });
      }
      assert.equal(denying.requests, calls.length);
    } finally {
      client.destroy();
      await denying.stop();
    }
  });
});
