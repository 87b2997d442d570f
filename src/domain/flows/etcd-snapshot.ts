/**
 * `kboot etcd snapshot`: on control-plane members, by kboot-etcd-snapshot.timer (every 15 min),
 * one member per interval:
 *   identity (control-plane, else exit 9) → a member? (not yet: exit 0) → a bucket configured?
 *   (none: exit 0) → the `snapshot` lease, tried once (held: exit 0) → the newest snapshot (taken
 *   less than half an interval ago by another member: exit 0) → etcd's snapshot streamed to S3
 *   with its SHA-256 (undo: the object deleted) → the record written under the lease's fence
 *   (commits) → retention: records, then objects, beyond the policy deleted → the lease released.
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import { StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { hashing } from '../backup/hashing.js';
import type { SnapshotPorts } from '../backup/ports.js';
import { applyRetention, type RetentionDecision } from '../backup/retention.js';
import type { SnapshotOptions } from '../backup/settings.js';
import {
  SNAPSHOT_SCHEMA_VERSION,
  type SnapshotRecord,
  snapshotKey,
  snapshotPrefix,
} from '../backup/snapshot-record.js';
import type { Identity } from '../identity/resolve.js';
import type { InstanceFiles } from '../ports/files.js';
import { describeHolder, type Lease } from '../state/lease.js';
import { leaseStep } from '../steps/lease-step.js';
import type { Flow, Step } from '../steps/step.js';
import type { ClusterStatePorts } from './deps.js';
import { readMembership } from './membership.js';
import { requireRole } from './start-steps.js';

export interface SnapshotDeps {
  logger: Logger;
  clock: Clock;
  fs: InstanceFiles;
  pollMs: number;
  identity(): Promise<Identity>;
  /** The snapshot lease's lock. */
  state(): Promise<Pick<ClusterStatePorts, 'lock'>>;
  /** The ports for `bucket` (objects encrypted with the cluster's KMS key, when it has one). */
  snapshots(bucket: string, cluster: string, signal: AbortSignal): Promise<SnapshotPorts>;
}

export type SnapshotOutcome = 'taken' | 'fresh' | 'busy' | 'not-member' | 'no-bucket' | 'planned';

export interface SnapshotResult {
  flow: 'etcd-snapshot';
  outcome: SnapshotOutcome;
  cluster: string;
  instanceId: string;
  summary: string;
  /** The snapshot taken now, or the newest one found (fresh). */
  snapshot: SnapshotRecord | null;
  /** Keys deleted by retention (a dry run: that would be). */
  removed: string[];
}

export interface SnapshotState {
  options: SnapshotOptions;
  identity: Identity;
  cluster: string;
  ports: SnapshotPorts;
  lease: Lease;
  existing: SnapshotRecord[];
  key: string;
  taken: SnapshotRecord;
  retention: RetentionDecision<Dated>;
  removed: string[];
  ended: SnapshotOutcome;
}

type Dated = SnapshotRecord & { takenAtMs: number };
type SnapshotStep = Step<SnapshotState, SnapshotDeps>;

const dated = (record: SnapshotRecord): Dated => ({ ...record, takenAtMs: Date.parse(record.takenAt) });

const identity: SnapshotStep = {
  name: 'identity',
  kind: 'read',
  describe: () => 'read who this instance is (IMDS: instance, region, tags)',
  async run({ state, deps }) {
    const found = await deps.identity();
    requireRole(
      found,
      'control-plane',
      'kboot etcd snapshot',
      'run it on a control-plane member (kboot-etcd-snapshot.timer does)',
    );
    state.set({ identity: found, cluster: found.clusterName });
    return undefined;
  },
};

const membership: SnapshotStep = {
  name: 'membership',
  kind: 'read',
  describe: () => 'check that this instance has joined the cluster',
  async run({ state, deps, logger }) {
    const found = await readMembership(deps.fs, state.get('cluster'));
    if (found.state === 'member') return undefined;
    state.set({ ended: 'not-member' });
    logger.info('this instance has not joined the cluster yet; no snapshot');
    return { end: 'this instance has not joined the cluster yet; nothing to snapshot' };
  },
};

const bucket: SnapshotStep = {
  name: 'backup-bucket',
  kind: 'read',
  describe: (state) => `check that a backup bucket is configured (${state.get('options').bucket ?? 'none'})`,
  async run({ state, deps, logger, signal }) {
    const name = state.get('options').bucket;
    if (name === undefined) {
      state.set({ ended: 'no-bucket' });
      logger.info('no backup bucket configured (backup.bucket in the node config); no snapshot');
      return { end: 'no backup bucket configured (backup.bucket); nothing to do' };
    }
    state.set({ ports: await deps.snapshots(name, state.get('cluster'), signal) });
    return undefined;
  },
};

const lease = leaseStep<SnapshotState, SnapshotDeps>({
  name: 'snapshot-lease',
  describe: (state) => `take the snapshot lease of cluster ${state.get('cluster')} (once)`,
  async request({ state, deps }) {
    return {
      lock: (await deps.state()).lock(state.get('cluster'), 'snapshot'),
      options: {
        owner: state.get('identity').instance.instanceId,
        clock: deps.clock,
        leaseMs: state.get('options').leaseMs,
        pollMs: deps.pollMs,
      },
    };
  },
  acquired({ state }, held) {
    state.set({ lease: held });
  },
  busy({ state, deps, logger }, current) {
    state.set({ ended: 'busy' });
    logger.info(
      { holder: current.owner, fence: current.fence },
      `another member is taking a snapshot: ${describeHolder(current, deps.clock.nowMs())}; nothing to do`,
    );
    return { end: 'another member holds the snapshot lease' };
  },
});

function newest(records: readonly SnapshotRecord[]): SnapshotRecord | undefined {
  return [...records].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt))[0];
}

const latest: SnapshotStep = {
  name: 'latest-snapshot',
  kind: 'read',
  describe: () => 'read the snapshot records of the cluster (DynamoDB)',
  async run({ state, deps, logger, signal }) {
    const existing = await state.get('ports').records.list(state.get('cluster'), signal);
    state.set({ existing });
    const options = state.get('options');
    const last = newest(existing);
    if (last === undefined || options.force) return undefined;
    const ageMs = deps.clock.nowMs() - Date.parse(last.takenAt);
    // Another member's timer of this interval took it: one snapshot per interval.
    if (ageMs >= 0 && ageMs < options.intervalMs / 2) {
      state.set({ ended: 'fresh' });
      logger.info(
        { key: last.key, takenBy: last.takenBy },
        'a snapshot of this interval exists; nothing to do',
      );
      return { end: `the newest snapshot is ${formatDurationMs(ageMs)} old; nothing to do` };
    }
    return undefined;
  },
};

const stream: SnapshotStep = {
  name: 'upload-snapshot',
  kind: 'change',
  describe: (state) =>
    `stream a snapshot from etcd to s3://${state.get('options').bucket}/${snapshotPrefix(state.get('cluster'))}<time>-rev<revision>.db, hashing it (SHA-256) on the way`,
  async run({ state, deps, logger, signal }) {
    const ports = state.get('ports');
    const startedMs = deps.clock.nowMs();
    const source = await ports.source.open(signal);
    const key = snapshotKey(state.get('cluster'), startedMs, source.revision);
    state.set({ key });
    logger.info(
      { key, revision: source.revision, etcdVersion: source.etcdVersion },
      'streaming the etcd snapshot to S3',
    );
    const hashed = hashing(source.chunks);
    await ports.objects.upload(key, hashed.chunks, signal);
    const { sha256, sizeBytes } = hashed.result();
    if (sizeBytes === 0)
      throw new StateConflictError('etcd sent an empty snapshot', { hint: 'check etcd on this member' });
    const lease = state.get('lease');
    state.set({
      taken: {
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        bucket: ports.objects.bucket,
        key,
        sha256,
        sizeBytes,
        revision: source.revision,
        takenAt: new Date(startedMs).toISOString(),
        takenBy: lease.owner,
        intervalMs: state.get('options').intervalMs,
        fence: lease.fence,
      },
    });
    logger.info(
      { key, sizeBytes, took: formatDurationMs(deps.clock.nowMs() - startedMs) },
      'etcd snapshot uploaded',
    );
    return undefined;
  },
  undo: {
    describe: 'delete the uploaded object (no record names it)',
    async run({ state, signal }) {
      const key = state.peek('key');
      if (key !== undefined) await state.get('ports').objects.remove([key], signal);
    },
  },
};

const record: SnapshotStep = {
  name: 'record-snapshot',
  kind: 'change',
  describe: (state) =>
    `record the snapshot's key, SHA-256, size and revision in cluster ${state.get('cluster')}'s partition (under the lease's fence)`,
  commits: 'the snapshot is recorded and valid: a later failure (retention) keeps it',
  async run({ state, signal }) {
    await state
      .get('ports')
      .records.put(state.get('cluster'), state.get('taken'), state.get('lease'), signal);
    return undefined;
  },
};

const retention: SnapshotStep = {
  name: 'retention',
  kind: 'change',
  describe: (state, deps) => {
    const options = state.get('options');
    const existing = state.peek('existing') ?? [];
    // The plan: what the policy removes once a new snapshot is there.
    const { remove } = applyRetention(
      [...existing.map(dated), { key: '(new)', takenAtMs: deps.clock.nowMs() }],
      deps.clock.nowMs(),
      options.retention,
    );
    const { allForHours, hourlyForDays, dailyForDays } = options.retention;
    return `apply retention (all for ${allForHours} h, hourly for ${hourlyForDays} d, daily for ${dailyForDays} d): delete [${remove.map((r) => r.key).join(', ')}] (records, then objects)`;
  },
  noUndo: 'deleted snapshots are past the retention policy; a retry deletes what is left',
  async run({ state, deps, logger, signal }) {
    const all = [...state.get('existing'), state.get('taken')].map(dated);
    const decision = applyRetention(all, deps.clock.nowMs(), state.get('options').retention);
    const keys = decision.remove.map((r) => r.key);
    state.set({ retention: decision, removed: keys });
    if (keys.length === 0) return undefined;
    const ports = state.get('ports');
    // Records first, fenced: a member that lost the lease deletes nothing; an object whose record
    // is gone is never restored from, whereas a record without its object would be.
    await ports.records.remove(state.get('cluster'), keys, state.get('lease'), signal);
    await ports.objects.remove(keys, signal);
    logger.info({ removed: keys.length, kept: decision.keep.length }, 'snapshots past retention deleted');
    return undefined;
  },
};

const SUMMARIES: Record<Exclude<SnapshotOutcome, 'taken'>, string> = {
  fresh: 'a snapshot of this interval exists; nothing to do',
  busy: 'another member holds the snapshot lease; nothing to do',
  'not-member': 'this instance has not joined the cluster yet; nothing to do',
  'no-bucket': 'no backup bucket configured (backup.bucket in the node config); nothing to do',
  planned: 'dry run: nothing changed',
};

export const etcdSnapshotFlow: Flow<SnapshotState, SnapshotDeps, SnapshotResult> = {
  name: 'etcd-snapshot',
  steps: [identity, membership, bucket, lease, latest, stream, record, retention],
  result(state, run) {
    const taken = state.peek('taken');
    const outcome: SnapshotOutcome =
      state.peek('ended') ?? (run.dryRun ? 'planned' : taken !== undefined ? 'taken' : 'planned');
    const snapshot = taken ?? (outcome === 'fresh' ? (newest(state.peek('existing') ?? []) ?? null) : null);
    return {
      flow: 'etcd-snapshot',
      outcome,
      cluster: state.peek('cluster') ?? '',
      instanceId: state.peek('identity')?.instance.instanceId ?? '',
      summary:
        outcome === 'taken' && taken !== undefined
          ? `snapshot s3://${taken.bucket}/${taken.key} (${taken.sizeBytes} bytes, revision ${taken.revision}, sha256 ${taken.sha256})`
          : SUMMARIES[outcome as Exclude<SnapshotOutcome, 'taken'>],
      snapshot,
      removed: state.peek('removed') ?? [],
    };
  },
};
