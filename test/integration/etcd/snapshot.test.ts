/**
 * `kboot etcd snapshot` against a real etcd (Debian's etcd 3.4, client TLS with the certificates
 * signed by the simulated cluster's etcd CA, as kubeadm's stacked etcd) and moto's S3 and
 * DynamoDB, with the built binary: keys written to etcd survive snapshot → S3 → `etcdctl snapshot
 * restore` → a new etcd started on the restored directory. The database is over one 8 MiB part,
 * so the upload is multipart.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, readClusterItem } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { type Moto, startMoto } from '../../support/moto.js';

const missing = etcdMissing();
const BUCKET = 'snapshots-test';
const CLUSTER = 'snap';

const b64 = (text: string) => Buffer.from(text).toString('base64');

interface SnapshotJson {
  outcome: string;
  summary: string;
  snapshot: { key: string; sha256: string; sizeBytes: number; revision: number; bucket: string } | null;
  removed: string[];
  plan?: { step: string; description: string }[];
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}

/** A one-member etcd started on a restored data directory (plain HTTP on loopback). */
function startEtcdOn(name: string, dataDir: string, client: string, peer: string): ChildProcess {
  return spawn(
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
      peer,
    ],
    { stdio: 'ignore' },
  );
}

/** The value of `key` once the etcd at `client` answers with it (20 s at most). */
async function readWhenServed(client: string, key: string): Promise<string | undefined> {
  let value: string | undefined;
  await waitFor(async () => {
    const res = await fetch(`${client}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key) }),
    });
    const body = (await res.json()) as { kvs?: { value: string }[] };
    value = body.kvs?.[0] && Buffer.from(body.kvs[0].value, 'base64').toString();
    return value !== undefined;
  }, 20_000);
  return value;
}

describe('etcd snapshot to S3 (real etcd, moto)', { skip: missing }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let etcd: EtcdCluster;
  let s3: S3Client;
  const scratch = mkdtempSync(path.join(tmpdir(), 'kboot-snapshot-'));
  let restored: ChildProcess | undefined;
  let fromKboot: ChildProcess | undefined;

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, {
      name: CLUSTER,
      nodeConfig: `apiEndpoint: snap-api.example.com\nbackup: { bucket: ${BUCKET} }\n`,
    });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const booted = await sim.run(master);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    etcd = await EtcdCluster.start([master.privateDns], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    master.env.KBOOT_ETCD_ENDPOINTS = etcd.nodes.map((node) => node.clientUrl).join(',');
    s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    restored?.kill('SIGKILL');
    fromKboot?.kill('SIGKILL');
    s3?.destroy();
    await etcd?.stop();
    await sim?.stop();
    await moto?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('plans without changing anything in a dry run', async () => {
    const result = await sim.run(master, ['etcd', 'snapshot', '--dry-run', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const out = JSON.parse(result.stdout) as SnapshotJson;
    assert.equal(out.outcome, 'planned');
    assert.deepEqual(
      out.plan?.map((p) => p.step),
      ['snapshot-lease', 'upload-snapshot', 'record-snapshot', 'retention'],
    );
    assert.equal(await readClusterItem(moto, CLUSTER, 'lock#snapshot'), undefined, 'no lease taken');
  });

  it('streams a snapshot to S3 that restores into an etcd holding the keys written', async (t) => {
    const node = etcd.nodes[0];
    assert.ok(node);
    // ~12 MiB of values: more than one 8 MiB part.
    const big = 'x'.repeat(512 * 1024);
    for (let i = 0; i < 24; i += 1)
      await etcd.post(node.clientUrl, '/v3/kv/put', { key: b64(`/big/${i}`), value: b64(big) });
    await etcd.post(node.clientUrl, '/v3/kv/put', { key: b64('/registry/kept'), value: b64('survives') });

    const result = await sim.run(master, ['etcd', 'snapshot', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const out = JSON.parse(result.stdout) as SnapshotJson;
    assert.equal(out.outcome, 'taken', out.summary);
    const snapshot = out.snapshot;
    assert.ok(snapshot);
    assert.match(snapshot.key, /^snap\/etcd\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z-rev\d+\.db$/);
    assert.ok(snapshot.revision >= 26, `revision ${snapshot.revision}`);
    assert.ok(snapshot.sizeBytes > 12 * 1024 * 1024, `size ${snapshot.sizeBytes}`);
    t.diagnostic(`snapshot of ${snapshot.sizeBytes} bytes at revision ${snapshot.revision}`);

    // The object is what was hashed, and the record says so.
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: snapshot.key }));
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    assert.equal(bytes.length, snapshot.sizeBytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), snapshot.sha256);
    const item = await readClusterItem(moto, CLUSTER, `snapshot#${snapshot.key}`);
    assert.equal(item?.sha256, snapshot.sha256);
    assert.equal(item?.sizeBytes, snapshot.sizeBytes);
    assert.equal(item?.revision, snapshot.revision);
    assert.equal(item?.takenBy, master.instanceId);
    const lock = await readClusterItem(moto, CLUSTER, 'lock#snapshot');
    assert.equal(lock?.owner, undefined, 'the lease is released');
    assert.doesNotMatch(result.stderr, /PRIVATE KEY|BEGIN CERTIFICATE/);

    // Restore it offline with etcdctl (it checks etcd's own hash trailer) and start an etcd on it.
    const file = path.join(scratch, 'snapshot.db');
    writeFileSync(file, bytes);
    const dataDir = path.join(scratch, 'restored');
    const peer = 'http://127.0.0.1:23980';
    const client = 'http://127.0.0.1:23979';
    execFileSync(
      'etcdctl',
      [
        'snapshot',
        'restore',
        file,
        '--data-dir',
        dataDir,
        '--name',
        'restored',
        '--initial-cluster',
        `restored=${peer}`,
        '--initial-advertise-peer-urls',
        peer,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' },
    );
    restored = startEtcdOn('restored', dataDir, client, peer);
    assert.equal(await readWhenServed(client, '/registry/kept'), 'survives');
  });

  it('takes no second snapshot in the same interval, unless forced', async () => {
    const again = await sim.run(master, ['etcd', 'snapshot', '--output', 'json']);
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    assert.equal((JSON.parse(again.stdout) as SnapshotJson).outcome, 'fresh');
    const forced = await sim.run(master, ['etcd', 'snapshot', '--force', '--output', 'json']);
    assert.equal(forced.exitCode, 0, forced.stderr.slice(-2000));
    assert.equal((JSON.parse(forced.stdout) as SnapshotJson).outcome, 'taken');
  });

  it('kboot status shows the newest snapshot, and warns once it is older than 3 intervals', async () => {
    const status = await sim.run(master, ['status', '--cluster', CLUSTER]);
    assert.equal(status.exitCode, 0, status.stderr.slice(-2000));
    assert.match(
      status.stdout,
      /etcd snapshot {12}latest (just now|1m ago) \(.*\), \d+\.\d MiB, revision \d+; 2 kept in s3:\/\/snapshots-test/,
    );
    assert.doesNotMatch(status.stderr, /older than 3 timer intervals/);
    // 46 minutes later on this machine's clock: past 3 intervals of 15 minutes.
    const later = await sim.run(master, ['status', '--cluster', CLUSTER, '--output', 'json'], {
      env: { KBOOT_CLOCK_OFFSET_MS: String(46 * 60_000) },
    });
    assert.equal(later.exitCode, 0, later.stderr.slice(-2000));
    const view = JSON.parse(later.stdout) as { etcdSnapshots: { state: string; count: number } };
    assert.equal(view.etcdSnapshots.state, 'stale');
    assert.equal(view.etcdSnapshots.count, 2);
    assert.match(later.stderr, /older than 3 timer intervals/);
  });

  it('kboot etcd restore: verifies the newest snapshot and restores it into a new data directory', async () => {
    const dataDir = path.join(scratch, 'kboot-restored');
    const peer = 'http://127.0.0.1:23990';
    const client = 'http://127.0.0.1:23989';
    // Without --yes nothing is written.
    const asked = await sim.run(master, ['etcd', 'restore', '--from', 'latest', '--data-dir', dataDir]);
    assert.equal(asked.exitCode, 0, asked.stderr.slice(-2000));
    assert.match(asked.stdout, /nothing restored without --yes/);
    assert.ok(!existsSync(dataDir));

    const result = await sim.run(master, [
      'etcd',
      'restore',
      '--from',
      'latest',
      '--data-dir',
      dataDir,
      '--yes',
      '--name',
      'again',
      '--peer-url',
      peer,
      '--output',
      'json',
    ]);
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const out = JSON.parse(result.stdout) as { outcome: string; tool: string };
    assert.equal(out.outcome, 'restored');
    assert.match(out.tool, /^etcd(utl|ctl)$/);
    assert.deepEqual(
      readdirSync(scratch).filter((name) => name.includes('snapshot-download')),
      [],
      'download removed',
    );
    fromKboot = startEtcdOn('again', dataDir, client, peer);
    assert.equal(await readWhenServed(client, '/registry/kept'), 'survives');

    // A non-empty directory is refused (exit 2).
    const again = await sim.run(master, [
      'etcd',
      'restore',
      '--from',
      'latest',
      '--data-dir',
      dataDir,
      '--yes',
    ]);
    assert.equal(again.exitCode, 2, again.stderr.slice(-2000));
    assert.match(again.stderr, /is not empty/);
  });

  it('kboot etcd restore refuses a corrupted snapshot and a missing key (exit 2), restoring nothing', async () => {
    const latest = JSON.parse(
      (await sim.run(master, ['status', '--cluster', CLUSTER, '--output', 'json'])).stdout,
    ) as {
      etcdSnapshots: { latest: { key: string } };
    };
    const key = latest.etcdSnapshots.latest.key;
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
    const dataDir = path.join(scratch, 'corrupt');
    const refused = await sim.run(master, ['etcd', 'restore', '--from', key, '--data-dir', dataDir, '--yes']);
    assert.equal(refused.exitCode, 2, refused.stderr.slice(-2000));
    assert.match(refused.stderr, /does not match its record .*not restored/);
    assert.ok(!existsSync(dataDir), 'nothing restored');
    assert.deepEqual(
      readdirSync(scratch).filter((name) => name.includes('snapshot-download')),
      [],
    );

    const missing = await sim.run(master, [
      'etcd',
      'restore',
      '--from',
      `${CLUSTER}/etcd/2020-01-01T00:00:00.000Z-rev1.db`,
      '--data-dir',
      dataDir,
      '--yes',
    ]);
    assert.equal(missing.exitCode, 2, missing.stderr.slice(-2000));
    assert.match(missing.stderr, /has no recorded etcd snapshot/);
  });

  it('says clearly when the bucket does not exist', async () => {
    const result = await sim.run(master, ['etcd', 'snapshot', '--force', '--bucket', 'no-such-bucket-here']);
    assert.equal(result.exitCode, 2, result.stderr.slice(-2000));
    assert.match(result.stderr, /S3 bucket no-such-bucket-here does not exist/);
    const lock = await readClusterItem(moto, CLUSTER, 'lock#snapshot');
    assert.equal(lock?.owner, undefined, 'the lease is released');
  });
});
