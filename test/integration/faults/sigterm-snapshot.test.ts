/**
 * SIGTERM (systemd stopping kboot-etcd-snapshot.service) at every step of `kboot etcd snapshot`,
 * and the snapshot lease stolen while the snapshot streams, with the built binary against a real
 * TLS etcd and moto behind the fault proxy (each AWS request held until the test has acted):
 * kboot exits 130 (8 when the lease is lost) within the unit's TimeoutStopSec, releases the
 * lease it holds, leaves no multipart upload open, and every object under <cluster>/etcd/ has its
 * record and every record its object. The next run takes a snapshot.
 *
 * Retention keeps only the newest (all three windows 0), so every run after the first deletes
 * and the retention step makes AWS requests to stop at.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { clientConfig, testDynamo } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { readItem, stealLease, stopAtStep, why } from './harness.js';

/** kboot-etcd-snapshot.service's TimeoutStopSec (packer/files/kboot-etcd-snapshot.service). */
const SNAPSHOT_TIMEOUT_STOP_MS = 120_000;
const CLUSTER = 'term-snap';
const BUCKET = 'term-snap-backups';
const LEASE_MS = 6000;
const THIEF = 'i-0thief000000000000';
const NODE_CONFIG = `apiEndpoint: api.example.com
timeouts: { lease: ${LEASE_MS / 1000}s }
backup: { bucket: ${BUCKET}, retention: { allForHours: 0, hourlyForDays: 0, dailyForDays: 0 } }
`;

const STEPS = [
  'identity',
  'membership',
  'backup-bucket',
  'snapshot-lease',
  'latest-snapshot',
  'upload-snapshot',
  'record-snapshot',
  'retention',
];

describe('SIGTERM at each step of etcd snapshot, and a stolen lease', {
  skip: etcdMissing(),
  concurrency: 1,
}, () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let proxy: FaultProxy;
  let etcd: EtcdCluster;
  let s3: S3Client;
  const times: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, { name: CLUSTER, nodeConfig: NODE_CONFIG });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const booted = await sim.run(master);
    assert.equal(booted.exitCode, 0, why(booted));
    etcd = await EtcdCluster.start([master.privateDns], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    master.env.KBOOT_ETCD_ENDPOINTS = etcd.nodes.map((node) => node.clientUrl).join(',');
    s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    proxy = await startFaultProxy(moto.endpoint);
    // One snapshot to start from: later runs have one to judge and delete.
    const first = await sim.run(master, ['etcd', 'snapshot', '--output', 'json']);
    assert.equal(first.exitCode, 0, why(first));
  });
  after(async () => {
    s3?.destroy();
    await Promise.all([sim?.stop(), proxy?.stop(), etcd?.stop()]);
    await moto?.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (etcd snapshot): ${rows.join(', ')}\n`);
  });

  async function objectKeys(): Promise<string[]> {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${CLUSTER}/etcd/` }));
    return (out.Contents ?? []).map((object) => object.Key ?? '').sort();
  }

  async function recordKeys(): Promise<string[]> {
    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new QueryCommand({
          TableName: 'kboot',
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': { S: `cluster#${CLUSTER}` }, ':prefix': { S: 'snapshot#' } },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map((item) => (item.sk?.S ?? '').slice('snapshot#'.length)).sort();
    } finally {
      dynamodb.destroy();
    }
  }

  /** Nothing half-done: no open multipart upload, every object recorded and every record's object there. */
  async function consistent(): Promise<void> {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    assert.deepEqual(uploads.Uploads ?? [], [], 'no multipart upload left open');
    const [objects, records] = await Promise.all([objectKeys(), recordKeys()]);
    assert.deepEqual(objects, records, 'objects and records match');
    assert.ok(records.length >= 1, 'a snapshot is kept');
  }

  for (const step of STEPS) {
    it(`at ${step}: exit 130 (or done before the signal landed), lease released, nothing half-done`, async (t) => {
      const stopped = await stopAtStep(sim, master, {
        at: { flow: 'etcd-snapshot', step },
        act: 'SIGTERM',
        args: ['etcd', 'snapshot', '--force', '--output', 'json'],
        proxy,
      });
      const { result } = stopped;
      assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
      // A step whose last AWS call is a fenced transaction (never held by the proxy) may finish
      // before the signal lands; every other one is stopped.
      if (step === 'record-snapshot') assert.ok([0, 130].includes(result.exitCode ?? -1), why(result));
      else assert.equal(result.exitCode, 130, why(result));
      assert.ok((stopped.actToExitMs as number) < SNAPSHOT_TIMEOUT_STOP_MS);
      times[step] = stopped.actToExitMs as number;
      t.diagnostic(`SIGTERM → exit ${result.exitCode}: ${stopped.actToExitMs} ms`);
      assert.equal((await readItem(moto, CLUSTER, 'lock#snapshot'))?.owner, undefined, 'lease released');
      await consistent();
    });
  }

  it('stops when the lease is stolen while streaming: exit 8, nothing recorded, the object deleted', async () => {
    const before = await recordKeys();
    const stopped = await stopAtStep(sim, master, {
      at: { flow: 'etcd-snapshot', step: 'upload-snapshot' },
      act: async () => {
        await stealLease(moto, CLUSTER, 'snapshot', THIEF, LEASE_MS);
      },
      args: ['etcd', 'snapshot', '--force', '--output', 'json'],
      proxy,
    });
    const { result } = stopped;
    assert.ok(stopped.acted, why(result));
    assert.equal(result.exitCode, 8, why(result));
    assert.match(result.error?.msg ?? '', /lease/);
    assert.equal(
      (await readItem(moto, CLUSTER, 'lock#snapshot'))?.owner,
      THIEF,
      "the thief's lease is left alone",
    );
    assert.deepEqual(await recordKeys(), before, 'nothing recorded or deleted');
    await consistent();
  });

  it('takes a snapshot on the next run', async () => {
    // The thief's lease runs out: a contender watches it unchanged for its lease, then takes over.
    const next = await sim.run(master, ['etcd', 'snapshot', '--force', '--output', 'json'], {
      env: { KBOOT_POLL_MS: '200' },
    });
    assert.equal(next.exitCode, 0, why(next));
    assert.equal((JSON.parse(next.stdout) as { outcome: string }).outcome, 'taken');
    await consistent();
  });
});
