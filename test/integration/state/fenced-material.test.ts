/**
 * Join material is fenced by the lease, against moto: the secret versions a master publishes are
 * recorded in the cluster record by the same fenced write that marks the cluster initialized (or,
 * for rotate, under the rotate lease), and readers take the version the record names. A holder
 * that lost its lease may still add a version to a secret, but no record names it, so nobody
 * reads it.
 */

import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsJoinMaterialStore } from '../../../src/adapters/aws/secrets-join-material.js';
import { systemClock } from '../../../src/core/clock.js';
import { StateConflictError } from '../../../src/core/errors.js';
import { Secret } from '../../../src/core/secrets.js';
import { readFreshJoin } from '../../../src/domain/flows/common.js';
import type { FlowDeps } from '../../../src/domain/flows/deps.js';
import type { JoinSecret } from '../../../src/domain/join/material.js';
import { publishedVersions } from '../../../src/domain/join/store.js';
import { newClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { deferredClientConfig } from '../../support/aws.js';
import { silentLogger } from '../../support/silent-logger.js';
import { TABLE, useStateTable } from './helpers.js';

const CLUSTER = 'fenced';
const HOUR_MS = 3_600_000;

const { moto, store } = useStateTable();
const secrets = new SecretsManagerClient(deferredClientConfig(moto));
const material = new SecretsJoinMaterialStore({
  clients: { region: 'us-east-1', secretsManager: async () => secrets },
  logger: silentLogger(),
});
after(() => secrets.destroy());
beforeEach(async () => {
  await store.putRecordIfAbsent(
    newClusterRecord(
      {
        clusterName: CLUSTER,
        region: 'us-east-1',
        apiEndpoint: 'api.fenced.example.com',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: '1.31.2',
        createdBy: 'test',
        createdAt: new Date().toISOString(),
      },
      TABLE,
    ),
  );
});

function joinSecret(token: string, caHash: string): JoinSecret {
  const nowMs = Date.now();
  return {
    schemaVersion: 1,
    apiEndpoint: 'api.fenced.example.com:6443',
    token: new Secret(token),
    tokenExpiresAt: new Date(nowMs + 24 * HOUR_MS).toISOString(),
    caCertHashes: [caHash],
    kubernetesVersion: '1.31.2',
    updatedAt: new Date(nowMs).toISOString(),
  };
}

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;

function deps(): FlowDeps {
  return {
    clock: systemClock,
    logger: silentLogger(),
    settings: { minMaterialLifeMs: 60_000, pollMs: 50 },
  } as unknown as FlowDeps;
}

async function take(owner: string) {
  const outcome = await store
    .leaseLock(CLUSTER, 'bootstrap')
    .tryAcquire({ owner, nowMs: Date.now(), leaseMs: 30_000 });
  assert.ok(outcome.acquired);
  return outcome.lease;
}

function stamp(versions: ReturnType<typeof publishedVersions>) {
  const nowMs = Date.now();
  return {
    updatedAt: new Date(nowMs).toISOString(),
    tokenExpiresAt: new Date(nowMs + 24 * HOUR_MS).toISOString(),
    versions,
  };
}

describe('join material fenced by the lease (moto)', () => {
  it('readers take the version the fenced init recorded, not what a holder that lost its lease wrote later', async () => {
    const stale = await take('i-same');
    const holder = await take('i-same'); // a restart of the same instance: fence 2
    const good = await material.publish(CLUSTER, { join: joinSecret('aaaaaa.aaaaaaaaaaaaaaaa', HASH_A) });
    await store.markInitialized(holder, Date.now(), undefined, stamp(publishedVersions(CLUSTER, good)));
    // The old process, paused past its lease, publishes and tries to record: refused.
    const late = await material.publish(CLUSTER, { join: joinSecret('bbbbbb.bbbbbbbbbbbbbbbb', HASH_B) });
    await assert.rejects(
      store.updateJoinMaterial(CLUSTER, stamp(publishedVersions(CLUSTER, late)), undefined, stale),
      (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.match(
          error.message,
          /^not recording join material of cluster "fenced": this instance \(i-same, fence 1\) no longer holds the bootstrap lease of cluster "fenced": held by i-same with fence 2/,
        );
        assert.equal(
          error.hint,
          'the material it published is never read; check `kboot status --cluster fenced`',
        );
        assert.deepEqual(error.details, { cluster: CLUSTER, owner: 'i-same', fence: 1 });
        return true;
      },
    );
    const record = await store.readRecord(CLUSTER);
    assert.equal(record?.joinMaterial?.versions?.join, good[0]?.versionId);
    assert.notEqual(good[0]?.versionId, late[0]?.versionId);
    // AWSCURRENT moved to the late version; kboot's readers never look there.
    assert.deepEqual((await material.readJoin(CLUSTER)).caCertHashes, [HASH_B]);
    const read = await readFreshJoin(
      deps(),
      material,
      CLUSTER,
      Date.now() + 5000,
      new AbortController().signal,
      {
        record: record as NonNullable<typeof record>,
        records: store,
      },
    );
    assert.deepEqual(read.caCertHashes, [HASH_A]);
    assert.equal(read.token.reveal(), 'aaaaaa.aaaaaaaaaaaaaaaa');
  });

  it('a stale fence marks nothing initialized and records no versions', async () => {
    const stale = await take('i-old');
    await store.leaseLock(CLUSTER, 'bootstrap').release(stale, Date.now());
    await take('i-new');
    const late = await material.publish(CLUSTER, { join: joinSecret('cccccc.cccccccccccccccc', HASH_B) });
    await assert.rejects(
      store.markInitialized(stale, Date.now(), undefined, stamp(publishedVersions(CLUSTER, late))),
      StateConflictError,
    );
    const record = await store.readRecord(CLUSTER);
    assert.equal(record?.initialized, undefined);
    assert.equal(record?.joinMaterial, undefined);
  });

  it('rotate records its versions under the rotate lease; a reader re-reads the record when the pinned material is stale', async () => {
    const init = await take('i-first');
    const first = await material.publish(CLUSTER, { join: joinSecret('dddddd.dddddddddddddddd', HASH_A) });
    await store.markInitialized(init, Date.now(), undefined, stamp(publishedVersions(CLUSTER, first)));
    const pinnedRecord = await store.readRecord(CLUSTER);
    // The pinned version expires; rotate publishes a fresh one under its lease and records it.
    const expiring = {
      ...joinSecret('eeeeee.eeeeeeeeeeeeeeee', HASH_A),
      tokenExpiresAt: new Date(Date.now() + 1000).toISOString(),
    };
    const short = await material.publish(CLUSTER, { join: expiring });
    const rotateLease = await store
      .leaseLock(CLUSTER, 'rotate')
      .tryAcquire({ owner: 'i-first', nowMs: Date.now(), leaseMs: 30_000 });
    assert.ok(rotateLease.acquired);
    await store.updateJoinMaterial(
      CLUSTER,
      stamp(publishedVersions(CLUSTER, short)),
      undefined,
      rotateLease.lease,
    );
    const fresh = await material.publish(CLUSTER, { join: joinSecret('ffffff.ffffffffffffffff', HASH_A) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const freshStamp = stamp(publishedVersions(CLUSTER, fresh));
    await store.updateJoinMaterial(CLUSTER, freshStamp, undefined, rotateLease.lease);
    // An older stamp is refused under the lease too, naming the newer one the record keeps.
    await assert.rejects(
      store.updateJoinMaterial(
        CLUSTER,
        { ...freshStamp, updatedAt: new Date(Date.parse(freshStamp.updatedAt) - 1000).toISOString() },
        undefined,
        rotateLease.lease,
      ),
      (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.ok(
          error.message.endsWith(
            `: the record already has newer join material (updated at ${freshStamp.updatedAt})`,
          ),
          error.message,
        );
        return true;
      },
    );
    assert.deepEqual((await store.readRecord(CLUSTER))?.joinMaterial, freshStamp);
    // A reader holding the record that named the short-lived version finds it stale, re-reads the record.
    const shortRecord = {
      ...(pinnedRecord as NonNullable<typeof pinnedRecord>),
      joinMaterial: stamp(publishedVersions(CLUSTER, short)),
    };
    const read = await readFreshJoin(
      deps(),
      material,
      CLUSTER,
      Date.now() + 10_000,
      new AbortController().signal,
      {
        record: shortRecord,
        records: store,
      },
    );
    assert.equal(read.token.reveal(), 'ffffff.ffffffffffffffff');
  });
});
