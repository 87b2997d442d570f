/**
 * `kboot etcd restore --from latest|KEY --data-dir DIR [--yes]`: an etcd snapshot from the
 * cluster's backup bucket restored offline into a new data directory (for an operator, and for the
 * recovery that comes later):
 *   the snapshot chosen (its record: key, SHA-256, size) → DIR checked (absent or empty) → the
 *   object downloaded to a file beside DIR, hashed on the way (cleanup: the file removed) → the
 *   SHA-256 and size compared with the record (a mismatch: exit 2, nothing restored) → the
 *   restore (`etcdutl snapshot restore`, else `etcdctl snapshot restore`; undo: DIR removed).
 * Nothing is restored without --yes (a dry run shows the plan).
 */

import { UsageError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { hashing } from '../backup/hashing.js';
import type { SnapshotObjects, SnapshotRecords } from '../backup/ports.js';
import type { SnapshotRecord } from '../backup/snapshot-record.js';
import type { Flow, Step } from '../steps/step.js';

/** The local side: the data directory, the downloaded file, the restore tool. */
export interface RestoreLocal {
  /** Whether `dir` exists with anything in it. */
  nonEmpty(dir: string): Promise<boolean>;
  /** Writes the chunks to `file` (0600), never holding them whole. */
  writeFile(file: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void>;
  remove(path: string): Promise<void>;
  /** etcdutl (or etcdctl) snapshot restore; returns the tool used. */
  restore(
    file: string,
    dir: string,
    member: { name: string; peerUrl: string },
    signal: AbortSignal,
  ): Promise<string>;
}

export interface RestoreDeps {
  logger: Logger;
  records: SnapshotRecords;
  objects: SnapshotObjects;
  local: RestoreLocal;
}

export interface RestoreOptions {
  cluster: string;
  /** `latest`, or an object key. */
  from: string;
  dataDir: string;
  name: string;
  peerUrl: string;
  yes: boolean;
}

export interface RestoreState {
  options: RestoreOptions;
  snapshot: SnapshotRecord;
  download: string;
  tool: string;
}

export interface RestoreResult {
  flow: 'etcd-restore';
  outcome: 'restored' | 'planned';
  summary: string;
  snapshot: SnapshotRecord | null;
  dataDir: string;
  tool: string | null;
}

type RestoreStep = Step<RestoreState, RestoreDeps>;

const choose: RestoreStep = {
  name: 'choose-snapshot',
  kind: 'read',
  describe: (state) =>
    `find snapshot ${state.get('options').from} of cluster ${state.get('options').cluster} in its records`,
  async run({ state, deps, signal }) {
    const { cluster, from } = state.get('options');
    const records = (await deps.records.list(cluster, signal)).sort(
      (a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt),
    );
    const found = from === 'latest' ? records[0] : records.find((record) => record.key === from);
    if (found === undefined) {
      throw new UsageError(
        from === 'latest'
          ? `cluster ${cluster} has no recorded etcd snapshot`
          : `cluster ${cluster} has no recorded etcd snapshot ${from}`,
        {
          hint: `kboot status --cluster ${cluster} shows the newest; give --from latest or a key it recorded`,
        },
      );
    }
    if (found.bucket !== deps.objects.bucket) {
      throw new UsageError(`snapshot ${found.key} is in bucket ${found.bucket}, not ${deps.objects.bucket}`, {
        hint: `pass --bucket ${found.bucket}`,
      });
    }
    state.set({ snapshot: found });
    return undefined;
  },
};

const checkDir: RestoreStep = {
  name: 'data-dir',
  kind: 'read',
  describe: (state) => `check that ${state.get('options').dataDir} is absent or empty`,
  async run({ state, deps }) {
    const { dataDir, yes } = state.get('options');
    if (await deps.local.nonEmpty(dataDir)) {
      throw new UsageError(`${dataDir} is not empty: kboot restores only into a new data directory`, {
        hint: 'give another --data-dir, or move the old one away first',
      });
    }
    if (!yes) {
      return { end: 'nothing restored without --yes (--dry-run shows the plan)' };
    }
    return undefined;
  },
};

const download: RestoreStep = {
  name: 'download',
  kind: 'change',
  describe: (state) =>
    `download s3://${state.get('snapshot').bucket}/${state.get('snapshot').key} (${state.get('snapshot').sizeBytes} bytes) beside ${state.get('options').dataDir}, checking its SHA-256 against the record`,
  async run({ state, deps, logger, signal }) {
    const file = downloadPath(state.get('options').dataDir);
    state.set({ download: file });
    await downloadVerified(deps, state.get('snapshot'), file, logger, signal);
    return undefined;
  },
  cleanup: {
    describe: 'remove the downloaded snapshot file',
    async run({ state, deps }) {
      const file = state.peek('download');
      if (file !== undefined) await deps.local.remove(file);
    },
  },
};

/** Where a snapshot for `dataDir` is downloaded: beside it, so on the same filesystem. */
export function downloadPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}.snapshot-download`;
}

/**
 * Streams the snapshot's object to `file` (0600), hashing it on the way; a missing object or one
 * whose SHA-256 or size differs from the record throws a UsageError (exit 2) naming it.
 */
export async function downloadVerified(
  deps: Pick<RestoreDeps, 'objects' | 'local'>,
  snapshot: SnapshotRecord,
  file: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const body = await deps.objects.download(snapshot.key, signal);
  if (body === undefined) {
    throw new UsageError(`s3://${snapshot.bucket}/${snapshot.key} is missing, though recorded`, {
      hint: 'restore an older snapshot (--from KEY); kboot status lists the newest',
    });
  }
  const hashed = hashing(body);
  await deps.local.writeFile(file, hashed.chunks, signal);
  const { sha256, sizeBytes } = hashed.result();
  if (sha256 !== snapshot.sha256 || sizeBytes !== snapshot.sizeBytes) {
    throw new UsageError(
      `s3://${snapshot.bucket}/${snapshot.key} does not match its record (SHA-256 ${sha256}, ${sizeBytes} bytes; recorded ${snapshot.sha256}, ${snapshot.sizeBytes} bytes): not restored`,
      { hint: 'the object was changed or damaged; restore an older snapshot (--from KEY)' },
    );
  }
  logger.info({ key: snapshot.key, sizeBytes }, 'snapshot downloaded and verified');
}

const restore: RestoreStep = {
  name: 'restore',
  kind: 'change',
  describe: (state) => {
    const { dataDir, name, peerUrl } = state.get('options');
    return `etcdutl (or etcdctl) snapshot restore into ${dataDir} as member ${name} (peer ${peerUrl})`;
  },
  async run({ state, deps, signal }) {
    const { dataDir, name, peerUrl } = state.get('options');
    state.set({ tool: await deps.local.restore(state.get('download'), dataDir, { name, peerUrl }, signal) });
    return undefined;
  },
  undo: {
    describe: 'remove the half-restored data directory',
    async run({ state, deps }) {
      await deps.local.remove(state.get('options').dataDir);
    },
  },
};

export const etcdRestoreFlow: Flow<RestoreState, RestoreDeps, RestoreResult> = {
  name: 'etcd-restore',
  steps: [choose, checkDir, download, restore],
  result(state, run) {
    const snapshot = state.peek('snapshot') ?? null;
    const tool = state.peek('tool') ?? null;
    const { dataDir } = state.get('options');
    const restored = tool !== null && !run.dryRun;
    return {
      flow: 'etcd-restore',
      outcome: restored ? 'restored' : 'planned',
      summary: restored
        ? `restored ${snapshot?.key} (revision ${snapshot?.revision}) into ${dataDir} with ${tool}`
        : (run.ended ?? 'dry run: nothing changed'),
      snapshot,
      dataDir,
      tool,
    };
  },
};
