/**
 * `kboot etcd restore` with fake ports: the snapshot chosen from the records, its SHA-256 checked
 * while it downloads, nothing restored on a mismatch, a missing key or without --yes, and the
 * download removed on every path.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { UsageError } from '../../../../src/core/errors.js';
import type { SnapshotRecord } from '../../../../src/domain/backup/snapshot-record.js';
import { etcdRestoreFlow, type RestoreDeps } from '../../../../src/domain/flows/etcd-restore.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { ManualClock } from '../state/manual-clock.js';

const DATA = Buffer.from('snapshot bytes '.repeat(1000));
const SHA = createHash('sha256').update(DATA).digest('hex');

function record(takenAt: string, sha256 = SHA): SnapshotRecord {
  return {
    schemaVersion: 1,
    bucket: 'prod-backups',
    key: `prod/etcd/${takenAt}-rev9.db`,
    sha256,
    sizeBytes: DATA.length,
    revision: 9,
    takenAt,
    takenBy: 'i-1',
    intervalMs: 900_000,
    fence: 1,
  };
}

function world(records: SnapshotRecord[], objects: Map<string, Buffer>) {
  const files = new Map<string, Buffer>();
  const restored: string[] = [];
  const removed: string[] = [];
  const deps: RestoreDeps = {
    logger: silentLogger(),
    records: {
      list: async () => records,
      put: async () => assert.fail('restore writes no record'),
      remove: async () => assert.fail('restore deletes no record'),
    },
    objects: {
      bucket: 'prod-backups',
      upload: async () => assert.fail('restore uploads nothing'),
      remove: async () => assert.fail('restore deletes no object'),
      download: async (key) => {
        const data = objects.get(key);
        if (data === undefined) return undefined;
        return (async function* () {
          yield data.subarray(0, 100);
          yield data.subarray(100);
        })();
      },
    },
    local: {
      nonEmpty: async (dir) => dir === '/busy',
      writeFile: async (file, chunks) => {
        const parts: Buffer[] = [];
        for await (const chunk of chunks) parts.push(Buffer.from(chunk));
        files.set(file, Buffer.concat(parts));
      },
      remove: async (path) => {
        removed.push(path);
        files.delete(path);
      },
      restore: async (file, dir) => {
        restored.push(`${file} -> ${dir}`);
        return 'etcdctl';
      },
    },
  };
  const run = (from: string, options: { yes?: boolean; dataDir?: string } = {}) =>
    runFlow(
      etcdRestoreFlow,
      deps,
      {
        logger: silentLogger(),
        clock: new ManualClock(),
        signal: new AbortController().signal,
        dryRun: false,
        undoBudgetMs: 1000,
        stopGraceMs: 1000,
      },
      {
        options: {
          cluster: 'prod',
          from,
          dataDir: options.dataDir ?? '/var/lib/etcd-restored',
          name: 'm1',
          peerUrl: 'https://10.0.1.10:2380',
          yes: options.yes ?? true,
        },
      },
    );
  return { run, files, restored, removed };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => assert.fail('expected the restore to fail'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof FlowStopped);
  return error.failure.error;
}

describe('etcd restore flow', () => {
  const older = record('2026-06-15T11:00:00.000Z');
  const newer = record('2026-06-15T12:00:00.000Z');

  it('restores the newest verified snapshot, then removes the download', async () => {
    const w = world(
      [older, newer],
      new Map([
        [newer.key, DATA],
        [older.key, DATA],
      ]),
    );
    const run = await w.run('latest');
    assert.equal(run.result.outcome, 'restored');
    assert.equal(run.result.snapshot?.key, newer.key);
    assert.deepEqual(w.restored, ['/var/lib/etcd-restored.snapshot-download -> /var/lib/etcd-restored']);
    assert.deepEqual(w.removed, ['/var/lib/etcd-restored.snapshot-download']);
  });

  it('refuses a snapshot whose bytes do not match its record (exit 2), restoring nothing', async () => {
    const w = world([newer], new Map([[newer.key, Buffer.concat([DATA.subarray(1), Buffer.from('x')])]]));
    const error = await failure(w.run('latest'));
    assert.ok(error instanceof UsageError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /does not match its record .* not restored/);
    assert.deepEqual(w.restored, []);
    assert.deepEqual(w.files.size, 0, 'the download is removed');
  });

  it('refuses a key with no record, and a recorded key whose object is gone (exit 2)', async () => {
    const w = world([newer], new Map());
    assert.match(
      (await failure(w.run('prod/etcd/2020-01-01T00:00:00.000Z-rev1.db'))).message,
      /has no recorded etcd snapshot/,
    );
    assert.match((await failure(w.run(newer.key))).message, /is missing, though recorded/);
    assert.match(
      (await failure(world([], new Map()).run('latest'))).message,
      /has no recorded etcd snapshot$/,
    );
  });

  it('refuses a data directory that is not empty, and restores nothing without --yes', async () => {
    const w = world([newer], new Map([[newer.key, DATA]]));
    assert.match((await failure(w.run('latest', { dataDir: '/busy' }))).message, /not empty/);
    const asked = await w.run('latest', { yes: false });
    assert.equal(asked.result.outcome, 'planned');
    assert.match(asked.result.summary, /without --yes/);
    assert.deepEqual(w.restored, []);
  });
});
