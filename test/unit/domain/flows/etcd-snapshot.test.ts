/**
 * `kboot etcd snapshot` with fake ports: etcd's stream, S3 and the records in memory, the lease
 * lock applying the domain's rules. What each outcome leaves behind, the plan of a dry run, the
 * undo when the upload or the record fails, and a lease lost while streaming.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import type { EtcdSnapshotStream, SnapshotPorts } from '../../../../src/domain/backup/ports.js';
import { snapshotOptions } from '../../../../src/domain/backup/settings.js';
import type { SnapshotRecord } from '../../../../src/domain/backup/snapshot-record.js';
import { etcdSnapshotFlow, type SnapshotDeps } from '../../../../src/domain/flows/etcd-snapshot.js';
import { membershipFor, writeMembership } from '../../../../src/domain/flows/membership.js';
import { KUBELET_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import type { LeaseRef } from '../../../../src/domain/state/lease.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { FakeLeaseLock } from '../state/fake-lease-lock.js';
import { ManualClock } from '../state/manual-clock.js';
import { CLUSTER, fakeIdentity, MemoryFs, MINUTE, SELF, START_MS, stepOutcomes } from './fake-deps.js';

const BUCKET = 'prod-backups';
const DAY = 24 * 60 * MINUTE;

function chunksOf(data: Buffer, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

class World {
  readonly clock = new ManualClock(START_MS);
  readonly fs = new MemoryFs();
  readonly lock = new FakeLeaseLock(CLUSTER, 'snapshot');
  readonly objects = new Map<string, Buffer>();
  readonly records = new Map<string, SnapshotRecord>();
  readonly calls: string[] = [];
  data = Buffer.from('etcd-db-'.repeat(10_000));
  revision = 42;
  /** Runs before each chunk is handed on (a test stops the flow there). */
  onChunk: ((index: number) => Promise<void> | void) | undefined;
  failUpload = false;
  failPut = false;

  async joined(): Promise<void> {
    await this.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf');
    await writeMembership(this.fs, membershipFor(CLUSTER, 'control-plane', SELF, 'join', START_MS - DAY));
  }

  #held(lease: LeaseRef): void {
    if (this.lock.record?.owner !== lease.owner || this.lock.record.fence !== lease.fence) {
      throw new StateConflictError('the snapshot lease is no longer held');
    }
  }

  ports(): SnapshotPorts {
    const world = this;
    return {
      source: {
        async open(): Promise<EtcdSnapshotStream> {
          world.calls.push('open');
          async function* chunks(): AsyncGenerator<Uint8Array> {
            let index = 0;
            for (const chunk of chunksOf(world.data, 32 * 1024)) {
              await world.onChunk?.(index);
              index += 1;
              yield chunk;
            }
          }
          return { revision: world.revision, etcdVersion: '3.5.16', chunks: chunks() };
        },
      },
      objects: {
        bucket: BUCKET,
        async upload(key, body, signal) {
          world.calls.push(`upload ${key}`);
          const parts: Buffer[] = [];
          for await (const chunk of body) {
            signal.throwIfAborted();
            parts.push(Buffer.from(chunk));
          }
          if (world.failUpload) throw new StateConflictError('S3 refused the upload');
          world.objects.set(key, Buffer.concat(parts));
        },
        async remove(keys) {
          world.calls.push(`remove-objects ${keys.join(',')}`);
          for (const key of keys) world.objects.delete(key);
        },
        async download(key) {
          const data = world.objects.get(key);
          if (data === undefined) return undefined;
          return (async function* () {
            yield* chunksOf(data, 1024);
          })();
        },
      },
      records: {
        async list() {
          return [...world.records.values()];
        },
        async put(_cluster, record, lease) {
          world.calls.push(`put ${record.key}`);
          world.#held(lease);
          if (world.failPut) throw new StateConflictError('DynamoDB refused the record');
          world.records.set(record.key, record);
        },
        async remove(_cluster, keys, lease) {
          world.calls.push(`remove-records ${keys.join(',')}`);
          world.#held(lease);
          for (const key of keys) world.records.delete(key);
        },
      },
    };
  }

  deps(): SnapshotDeps {
    return {
      logger: silentLogger(),
      clock: this.clock,
      fs: this.fs,
      pollMs: 1000,
      identity: async () => fakeIdentity('control-plane'),
      state: async () => ({
        lock: (cluster, name) => {
          assert.equal(cluster, CLUSTER);
          assert.equal(name, 'snapshot');
          return this.lock;
        },
      }),
      snapshots: async (bucket, cluster) => {
        assert.equal(bucket, BUCKET);
        assert.equal(cluster, CLUSTER);
        return this.ports();
      },
    };
  }

  run(options: { dryRun?: boolean; bucket?: string | null; force?: boolean; signal?: AbortSignal } = {}) {
    return runFlow(
      etcdSnapshotFlow,
      this.deps(),
      {
        logger: silentLogger(),
        clock: this.clock,
        signal: options.signal ?? new AbortController().signal,
        dryRun: options.dryRun === true,
        undoBudgetMs: 10_000,
        stopGraceMs: 1000,
      },
      {
        options: snapshotOptions(
          { retention: { allForHours: 1, hourlyForDays: 0, dailyForDays: 0 } },
          {
            ...(options.bucket === null ? {} : { bucket: options.bucket ?? BUCKET }),
            force: options.force === true,
          },
        ),
      },
    );
  }

  /** A record of a snapshot taken `ageMs` ago (its object too). */
  seed(ageMs: number): SnapshotRecord {
    const takenAt = new Date(this.clock.nowMs() - ageMs).toISOString();
    const record: SnapshotRecord = {
      schemaVersion: 1,
      bucket: BUCKET,
      key: `${CLUSTER}/etcd/${takenAt}-rev7.db`,
      sha256: 'a'.repeat(64),
      sizeBytes: 10,
      revision: 7,
      takenAt,
      takenBy: 'i-other',
      intervalMs: 15 * MINUTE,
      fence: 1,
    };
    this.records.set(record.key, record);
    this.objects.set(record.key, Buffer.from('old'));
    return record;
  }
}

describe('etcd snapshot flow', () => {
  it('streams the snapshot to S3, records its hash, size and revision, and releases the lease', async () => {
    const w = new World();
    await w.joined();
    const run = await w.run();
    assert.equal(run.result.outcome, 'taken');
    const key = `${CLUSTER}/etcd/${new Date(START_MS).toISOString()}-rev42.db`;
    assert.deepEqual(w.objects.get(key), w.data);
    const record = w.records.get(key);
    assert.deepEqual(record, {
      schemaVersion: 1,
      bucket: BUCKET,
      key,
      sha256: createHash('sha256').update(w.data).digest('hex'),
      sizeBytes: w.data.length,
      revision: 42,
      takenAt: new Date(START_MS).toISOString(),
      takenBy: SELF,
      intervalMs: 15 * MINUTE,
      fence: 1,
    });
    assert.deepEqual(run.result.snapshot, record);
    assert.equal(w.lock.record?.owner, undefined, 'the lease is released');
    assert.match(run.result.summary, /^snapshot s3:\/\/prod-backups\/prod\/etcd\/.*-rev42\.db \(80000 bytes/);
  });

  it('applies retention after the snapshot: records first, then objects', async () => {
    const w = new World();
    await w.joined();
    const recent = w.seed(30 * MINUTE);
    const old = w.seed(2 * 60 * MINUTE);
    const older = w.seed(3 * 60 * MINUTE);
    const run = await w.run();
    assert.deepEqual(run.result.removed, [old.key, older.key]);
    assert.deepEqual([...w.records.keys()].sort(), [recent.key, run.result.snapshot?.key].sort());
    assert.ok(!w.objects.has(old.key) && !w.objects.has(older.key) && w.objects.has(recent.key));
    const order = w.calls.filter((call) => call.startsWith('remove-'));
    assert.deepEqual(order, [
      `remove-records ${old.key},${older.key}`,
      `remove-objects ${old.key},${older.key}`,
    ]);
  });

  it('does nothing when another member took a snapshot less than half an interval ago', async () => {
    const w = new World();
    await w.joined();
    const fresh = w.seed(5 * MINUTE);
    const run = await w.run();
    assert.equal(run.result.outcome, 'fresh');
    assert.deepEqual(run.result.snapshot, fresh);
    assert.deepEqual(w.calls, []);
    // --force takes one anyway.
    assert.equal((await w.run({ force: true })).result.outcome, 'taken');
  });

  it('takes a snapshot when the newest is half an interval old', async () => {
    const w = new World();
    await w.joined();
    w.seed(7.5 * MINUTE);
    assert.equal((await w.run()).result.outcome, 'taken');
  });

  it('ends, changing nothing, when another member holds the lease and renews it', async () => {
    const w = new World();
    await w.joined();
    w.lock.record = {
      owner: 'i-other',
      fence: 3,
      rvn: 'x',
      leaseMs: 120_000,
      expiresAtMs: START_MS + 60_000,
    };
    w.lock.holderRenews = true;
    // A one-shot contender watches a held lock for one lease of its holder: a renewal means a live one.
    const running = w.run();
    let settled = false;
    void running.finally(() => {
      settled = true;
    });
    while (!settled) await w.clock.advanceMs(10_000);
    const run = await running;
    assert.equal(run.result.outcome, 'busy');
    assert.deepEqual(w.calls, []);
  });

  it('does nothing on an instance that has not joined, or without a bucket', async () => {
    const w = new World();
    assert.equal((await w.run()).result.outcome, 'not-member');
    await w.joined();
    assert.equal((await w.run({ bucket: null })).result.outcome, 'no-bucket');
    assert.deepEqual(w.calls, []);
  });

  it('refuses to run on a worker', async () => {
    const w = new World();
    const deps = { ...w.deps(), identity: async () => fakeIdentity('worker') };
    await assert.rejects(
      runFlow(
        etcdSnapshotFlow,
        deps,
        {
          logger: silentLogger(),
          clock: w.clock,
          signal: new AbortController().signal,
          dryRun: false,
          undoBudgetMs: 1000,
          stopGraceMs: 1000,
        },
        { options: snapshotOptions(undefined, { bucket: BUCKET }) },
      ),
      (error: unknown) => error instanceof FlowStopped && /tagged worker/.test(error.message),
    );
  });

  it('plans without changing anything in a dry run', async () => {
    const w = new World();
    await w.joined();
    const old = w.seed(2 * 60 * MINUTE);
    const run = await w.run({ dryRun: true });
    assert.equal(run.result.outcome, 'planned');
    assert.deepEqual(
      run.planned.map((p) => p.step),
      ['snapshot-lease', 'upload-snapshot', 'record-snapshot', 'retention'],
    );
    assert.match(
      run.planned[1]?.description ?? '',
      /s3:\/\/prod-backups\/prod\/etcd\/<time>-rev<revision>\.db/,
    );
    assert.match(
      run.planned[3]?.description ?? '',
      new RegExp(`delete \\[${old.key.replace(/[.]/g, '\\.')}\\]`),
    );
    assert.deepEqual(w.calls, []);
    assert.equal(w.lock.record, undefined);
  });

  it('deletes the uploaded object when recording it fails, and releases the lease', async () => {
    const w = new World();
    await w.joined();
    w.failPut = true;
    await assert.rejects(w.run(), FlowStopped);
    assert.equal(w.objects.size, 0);
    assert.equal(w.records.size, 0);
    assert.equal(w.lock.record?.owner, undefined);
  });

  it('leaves nothing when the upload fails', async () => {
    const w = new World();
    await w.joined();
    w.failUpload = true;
    await assert.rejects(w.run(), FlowStopped);
    assert.equal(w.objects.size, 0);
    assert.ok(
      w.calls.some((call) => call.startsWith('remove-objects')),
      'the undo removes the key',
    );
  });

  it('stops streaming when the lease is stolen, records nothing and deletes the object', async () => {
    const w = new World();
    await w.joined();
    w.onChunk = async (index) => {
      if (index !== 1) return;
      w.lock.record = { owner: 'i-thief', fence: 9, rvn: 'stolen', leaseMs: 120_000 };
      // The next renewal (a third of the 2 min lease) finds the thief: the flow is stopped.
      await w.clock.advanceMs(50_000);
    };
    const stopped = await w.run().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(stopped instanceof FlowStopped, String(stopped));
    assert.equal(stopped.failure.cause, 'lease-lost');
    assert.equal(w.records.size, 0);
    assert.equal(w.objects.size, 0);
    assert.equal(w.lock.record?.owner, 'i-thief', "the thief's lease is left alone");
  });

  it('is stopped by SIGTERM while streaming and leaves nothing', async () => {
    const w = new World();
    await w.joined();
    const sigterm = new AbortController();
    w.onChunk = (index) => {
      if (index === 1) sigterm.abort(new Error('SIGTERM'));
    };
    const stopped = await w.run({ signal: sigterm.signal }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(stopped instanceof FlowStopped);
    assert.equal(stopped.failure.cause, 'interrupted');
    assert.equal(w.objects.size, 0);
    assert.equal(w.records.size, 0);
    assert.equal(w.lock.record?.owner, undefined);
    assert.ok(stepOutcomes(stopped).includes('upload-snapshot:stopped'), stepOutcomes(stopped).join(' '));
  });
});
