/**
 * The recovery of a cluster that lost its whole control plane, end to end in the simulated cluster
 * (the built binary, moto, the fake kubeadm) with a real etcd (Debian's etcd 3.4, as the snapshot
 * tests): a master boots and a worker joins; keys are written to etcd and two snapshots taken; the
 * newest object is then damaged and every control-plane instance terminated. While the old
 * member's etcd still answers, a new control-plane instance refuses to restore and says why; once
 * it is gone, a SIGTERM during a recovery's kubeadm init undoes it; then a new one restores the PKI and the previous snapshot (the newest does not verify)
 * into a one-member etcd that holds the keys, kubeadm init runs over them, and another master and
 * a worker join the restored cluster.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, readClusterItem, testDynamo, testEc2 } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { type Moto, startMoto } from '../../support/moto.js';

const missing = etcdMissing();
const BUCKET = 'recovery-backups';
const CLUSTER = 'lost';
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface BootJson {
  outcome: string;
  summary: string;
}

async function snapshotNow(sim: SimCluster, master: SimInstance): Promise<string> {
  const result = await sim.run(master, ['etcd', 'snapshot', '--force', '--output', 'json']);
  assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
  return (JSON.parse(result.stdout) as { snapshot: { key: string } }).snapshot.key;
}

/** The value of `key` in an etcd started on `dataDir` (plain HTTP on loopback), once it answers. */
async function readFrom(
  dataDir: string,
  name: string,
  key: string,
  port: number,
): Promise<{ value: string | undefined; etcd: ChildProcess }> {
  const client = `http://127.0.0.1:${port}`;
  const etcd = spawn(
    'etcd',
    [
      '--name',
      name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      `http://127.0.0.1:${port + 1}`,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${client}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(key) }),
      });
      const body = (await res.json()) as { kvs?: { value: string }[]; header?: unknown };
      if (body.header !== undefined) {
        const raw = body.kvs?.[0]?.value;
        return { value: raw === undefined ? undefined : Buffer.from(raw, 'base64').toString(), etcd };
      }
    } catch {
      // not serving yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  etcd.kill('SIGKILL');
  throw new Error(`etcd on ${dataDir} did not answer`);
}

/** The argv each started fake kubeadm wrote (FAKE_KUBEADM_STARTED_DIR). */
function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((name) => readFileSync(path.join(dir, name), 'utf8'));
}

describe('recovery of a lost control plane (simulated cluster, real etcd)', { skip: missing }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let etcd: EtcdCluster;
  let restoredEtcd: EtcdCluster | undefined;
  let s3: S3Client;
  let first: SimInstance;
  const started: ChildProcess[] = [];
  let older = '';
  let newest = '';

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, {
      name: CLUSTER,
      nodeConfig: `apiEndpoint: lost-api.invalid\nbackup: { bucket: ${BUCKET} }\n`,
    });
    await sim.createTable();
    s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    first = await sim.addInstance('control-plane');
    const booted = await sim.run(first);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    const worker = await sim.addInstance('worker');
    const joined = await sim.run(worker);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-2000));
    etcd = await EtcdCluster.start([first.privateDns], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    first.env.KBOOT_ETCD_ENDPOINTS = etcd.nodes.map((node) => node.clientUrl).join(',');
    const url = etcd.nodes[0]?.clientUrl as string;
    await etcd.post(url, '/v3/kv/put', { key: b64('/registry/kept'), value: b64('survives') });
    older = await snapshotNow(sim, first);
    await etcd.post(url, '/v3/kv/put', { key: b64('/registry/later'), value: b64('newer') });
    newest = await snapshotNow(sim, first);
    // The newest object is damaged in the bucket: its SHA-256 no longer matches its record.
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: newest }));
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    bytes[2000] = (bytes[2000] ?? 0) ^ 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: newest, Body: bytes }));
    // Every control-plane instance terminated; its member record says its etcd served where the
    // test's real etcd serves (so that its etcd still answers, until the test stops it).
    const ec2 = testEc2(moto);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first.instanceId] }));
    ec2.destroy();
    const dynamo = testDynamo(moto);
    await dynamo.send(
      new UpdateItemCommand({
        TableName: sim.table,
        Key: { pk: { S: `cluster#${CLUSTER}` }, sk: { S: `member#${first.instanceId}` } },
        UpdateExpression: 'SET privateIp = :ip',
        ExpressionAttributeValues: { ':ip': { S: new URL(url).hostname } },
      }),
    );
    dynamo.destroy();
  });

  after(async () => {
    for (const child of started) child.kill('SIGKILL');
    s3?.destroy();
    await etcd?.stop();
    await restoredEtcd?.stop();
    await sim?.stop();
    await moto?.stop();
  });

  it('refuses to restore while a recorded member’s etcd answers, and says why (nothing changed)', async () => {
    const candidate = await sim.addInstance('control-plane');
    const result = await sim.run(candidate, ['boot', '--dry-run', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    assert.match(
      result.stderr,
      /not restoring the cluster: etcd of i-\w+ \(.*\) at https:\/\/127\.[\d.]+:2379 answers/,
    );
    assert.equal((await readClusterItem(moto, CLUSTER, 'meta'))?.restoredFrom, undefined);
  });

  it('SIGTERM during the recovery’s kubeadm init: reset, the PKI and the restored data removed, the lease released (exit 130)', async () => {
    await etcd.stop();
    const started = path.join(sim.dir, 'term-started');
    const doomed = await sim.addInstance('control-plane', {
      FAKE_KUBEADM_SLEEP_MS: 'init=60000',
      FAKE_KUBEADM_STARTED_DIR: started,
    });
    const running = sim.spawn(doomed);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !filesIn(started).some((text) => text.startsWith('init '))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    running.child.kill('SIGTERM');
    const result = await running.result;
    assert.equal(result.exitCode, 130, result.stderr.slice(-3000));
    assert.match(result.stderr, /recover-control-plane stopped at step kubeadm-init/);
    assert.ok(!existsSync(path.join(doomed.root, 'etc', 'kubernetes', 'pki')), 'the PKI removed');
    assert.ok(
      !existsSync(path.join(doomed.root, 'var', 'lib', 'etcd', 'member')),
      'the restored data removed',
    );
    assert.equal(
      (await readClusterItem(moto, CLUSTER, 'lock#bootstrap'))?.owner,
      undefined,
      'the lease is released',
    );
    assert.equal((await readClusterItem(moto, CLUSTER, 'meta'))?.restoredFrom, undefined);
  });

  it('restores the PKI and the newest snapshot that verifies once no member exists or answers; masters and workers join after', async (t) => {
    const before = await readClusterItem(moto, CLUSTER, 'meta');
    const recovering = await sim.addInstance('control-plane');
    const startedMs = Date.now();
    const result = await sim.run(recovering);
    t.diagnostic(`replacement instance start → initialized again: ${Date.now() - startedMs} ms`);
    assert.equal(result.exitCode, 0, result.stderr.slice(-4000));
    const out = JSON.parse(result.stdout) as BootJson & { steps?: { step: string; durationMs: number }[] };
    assert.equal(out.outcome, 'restored', out.summary);
    const slowest = [...(out.steps ?? [])].sort((a, b) => b.durationMs - a.durationMs).slice(0, 4);
    t.diagnostic(`slowest steps: ${slowest.map((s) => `${s.step} ${s.durationMs} ms`).join(', ')}`);
    assert.match(result.stderr, /snapshot refused; trying the previous one/);
    assert.doesNotMatch(result.stderr, /PRIVATE KEY/);

    // The record: initialized again by this instance, restored from the older snapshot.
    const record = await readClusterItem(moto, CLUSTER, 'meta');
    const restoredFrom = record?.restoredFrom as { key: string; by: string; revision: number };
    assert.equal(restoredFrom.key, older);
    assert.equal(restoredFrom.by, recovering.instanceId);
    const initialized = record?.initialized as { by: string; fence: number } | undefined;
    assert.equal(initialized?.by, recovering.instanceId);
    assert.notEqual(initialized?.fence, (before?.initialized as { fence: number } | undefined)?.fence);
    const status = await sim.run(recovering, ['status', '--cluster', CLUSTER]);
    assert.match(status.stdout, new RegExp(`restored from ${older.replaceAll('.', '\\.')}`));

    // kubeadm init ran over the restored data and the cluster's own PKI.
    const init = sim
      .invocations()
      .filter((call) => call.command === 'init')
      .at(-1);
    assert.ok(init?.argv.includes('--ignore-preflight-errors=DirAvailable--var-lib-etcd'));

    // The restored data directory holds the keys of the older snapshot (not the newer one's).
    const dataDir = path.join(recovering.root, 'var', 'lib', 'etcd');
    const kept = await readFrom(dataDir, recovering.privateDns, '/registry/kept', 24379);
    started.push(kept.etcd);
    assert.equal(kept.value, 'survives');
    const later = await fetch('http://127.0.0.1:24379/v3/kv/range', {
      method: 'POST',
      body: JSON.stringify({ key: b64('/registry/later') }),
    });
    assert.equal(((await later.json()) as { kvs?: unknown[] }).kvs, undefined);
    kept.etcd.kill('SIGKILL');

    // A worker and another master join the restored cluster as usual. The master's cleanup of lost
    // instances reads etcd's members: a real etcd whose one member is the restored node stands in
    // for the restored cluster's.
    const worker = await sim.addInstance('worker');
    const joinedWorker = await sim.run(worker);
    assert.equal(joinedWorker.exitCode, 0, joinedWorker.stderr.slice(-3000));
    assert.equal((JSON.parse(joinedWorker.stdout) as BootJson).outcome, 'joined-worker');
    restoredEtcd = await EtcdCluster.start([recovering.privateDns], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    const master = await sim.addInstance('control-plane', {
      KBOOT_ETCD_ENDPOINTS: restoredEtcd.nodes.map((node) => node.clientUrl).join(','),
    });
    const joinedMaster = await sim.run(master);
    assert.equal(joinedMaster.exitCode, 0, joinedMaster.stderr.slice(-3000));
    assert.equal((JSON.parse(joinedMaster.stdout) as BootJson).outcome, 'joined-control-plane');
  });
});
