/**
 * What `kboot status` shows, computed from the stored state and "now": a plain data view (the
 * `--output json` document) and its text rendering. Pure: state in, view and text out.
 */

import { formatDurationMs } from '../../core/duration.js';
import { type SnapshotStatusView, snapshotStatusLine, snapshotStatusView } from '../backup/status.js';
import { certificatesDue } from '../kubeadm/cert-expiration.js';
import { describeTimeline } from '../steps/timeline.js';
import type { UpgradeRecord } from '../upgrade/record.js';
import { upgradeStatusLine } from '../upgrade/status-line.js';
import { apiAddress, type RecordedFailure, type RestoredFrom } from './cluster-record.js';
import type { ClusterState } from './cluster-store.js';
import { LOCK_NAMES, type LockName, type LockRecord, leaseState } from './lease.js';
import type { MemberRecord } from './member.js';

export interface LockView {
  state: 'free' | 'released' | 'expired' | 'held' | 'unreadable';
  /** Why the lock item could not be read (state `unreadable`), else null. */
  error: string | null;
  owner: string | null;
  fence: number;
  expiresAt: string | null;
  /** Negative once expired. */
  expiresInMs: number | null;
}

export interface JoinMaterialView {
  updatedAt: string;
  ageMs: number;
  tokenExpiresAt: string;
  tokenExpiresInMs: number;
  certificateKeyExpiresAt: string | null;
  certificateKeyExpiresInMs: number | null;
  /** The published admin.conf's client certificate (null: not stamped, an older record). */
  adminConfExpiresAt: string | null;
  adminConfExpiresInMs: number | null;
}

export interface ClusterStatusView {
  cluster: string;
  table: string;
  record: 'present' | 'absent' | 'unreadable';
  recordError: string | null;
  region: string | null;
  apiEndpoint: string | null;
  kubernetesVersion: string | null;
  podCidr: string | null;
  serviceCidr: string | null;
  externalDns: string | null;
  /** The cluster's addons choice (null: not recorded, a record of an earlier version). */
  addons: { cni: 'cilium' | 'none'; cloudController: boolean } | null;
  createdBy: string | null;
  createdAt: string | null;
  initialized: { by: string; at: string; fence: number } | null;
  /** The snapshot the recovery of a lost control plane restored the cluster from (null: never restored). */
  restoredFrom: RestoredFrom | null;
  locks: Record<LockName, LockView>;
  joinMaterial: JoinMaterialView | null;
  lastFailure: RecordedFailure | null;
  /** The recorded upgrade (kboot cluster upgrade), done or under way; null when none was recorded. */
  upgrade: UpgradeRecord | null;
  members: MemberRecord[];
  /** The newest etcd snapshot (kboot etcd snapshot), stale past 3 timer intervals. */
  etcdSnapshots: SnapshotStatusView;
}

/**
 * `expired` is the holder's own wall-clock expiry passing by this machine's clock: a hint for
 * people (the holder may be dead); a contender decides by watching the rvn, never by this.
 */
function lockView(record: LockRecord | undefined, error: Error | undefined, nowMs: number): LockView {
  if (error !== undefined) {
    return {
      state: 'unreadable',
      error: error.message,
      owner: null,
      fence: 0,
      expiresAt: null,
      expiresInMs: null,
    };
  }
  const state = leaseState(record, '');
  const expiresAtMs = record?.expiresAtMs;
  const expired = expiresAtMs === undefined || expiresAtMs <= nowMs;
  return {
    state: state === 'free' || state === 'released' ? state : expired ? 'expired' : 'held',
    error: null,
    owner: record?.owner ?? null,
    fence: record?.fence ?? 0,
    expiresAt: expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString(),
    expiresInMs: expiresAtMs === undefined ? null : expiresAtMs - nowMs,
  };
}

function msUntil(iso: string, nowMs: number): number {
  return Date.parse(iso) - nowMs;
}

export function clusterStatusView(state: ClusterState, table: string, nowMs: number): ClusterStatusView {
  const record = state.record;
  const material = record?.joinMaterial;
  const locks = Object.fromEntries(
    LOCK_NAMES.map((name) => [name, lockView(state.locks[name], state.lockErrors?.[name], nowMs)]),
  ) as Record<LockName, LockView>;
  return {
    cluster: state.cluster,
    table,
    record: record !== undefined ? 'present' : state.recordError !== undefined ? 'unreadable' : 'absent',
    recordError: state.recordError?.message ?? null,
    region: record?.region ?? null,
    apiEndpoint: record === undefined ? null : formatEndpoint(record.apiEndpoint),
    kubernetesVersion: record?.kubernetesVersion ?? null,
    podCidr: record?.podCidr ?? null,
    serviceCidr: record?.serviceCidr ?? null,
    externalDns: record?.externalDns ?? null,
    addons: record?.addons ?? null,
    createdBy: record?.createdBy ?? null,
    createdAt: record?.createdAt ?? null,
    initialized: record?.initialized ?? null,
    restoredFrom: record?.restoredFrom ?? null,
    locks,
    joinMaterial:
      material === undefined
        ? null
        : {
            updatedAt: material.updatedAt,
            ageMs: -msUntil(material.updatedAt, nowMs),
            tokenExpiresAt: material.tokenExpiresAt,
            tokenExpiresInMs: msUntil(material.tokenExpiresAt, nowMs),
            certificateKeyExpiresAt: material.certificateKeyExpiresAt ?? null,
            certificateKeyExpiresInMs:
              material.certificateKeyExpiresAt === undefined
                ? null
                : msUntil(material.certificateKeyExpiresAt, nowMs),
            adminConfExpiresAt: material.adminConfExpiresAt ?? null,
            adminConfExpiresInMs:
              material.adminConfExpiresAt === undefined ? null : msUntil(material.adminConfExpiresAt, nowMs),
          },
    lastFailure: record?.lastFailure ?? null,
    upgrade: record?.upgrade ?? null,
    members: state.members,
    etcdSnapshots: snapshotStatusView(state.snapshotsError ?? state.snapshots ?? [], nowMs),
  };
}

function formatEndpoint(endpoint: string): string {
  const { host, port } = apiAddress(endpoint);
  return `${host}:${port}`;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A duration to the precision a reader wants: "23h" rather than "22h59m59s", "0s" for 199ms. */
export function roughDuration(durationMs: number): string {
  const step = durationMs >= DAY_MS ? HOUR_MS : durationMs >= HOUR_MS ? MINUTE_MS : 1000;
  const roundedMs = Math.round(durationMs / step) * step;
  return roundedMs < 1000 ? '0s' : formatDurationMs(roundedMs);
}

function inOrAgo(deltaMs: number): string {
  return deltaMs >= 0 ? `in ${roughDuration(deltaMs)}` : `${roughDuration(-deltaMs)} ago`;
}

function expiry(what: string, at: string, deltaMs: number): string {
  return deltaMs >= 0
    ? `${what} expires ${inOrAgo(deltaMs)} (${at})`
    : `${what} EXPIRED ${inOrAgo(deltaMs)} (${at})`;
}

function lockLine(view: LockView): string {
  switch (view.state) {
    case 'free':
      return 'free (never taken)';
    case 'released':
      return `free (released, fence ${view.fence})`;
    case 'expired':
      return `free: lease of ${view.owner} expired ${inOrAgo(view.expiresInMs ?? 0)} (fence ${view.fence})`;
    case 'unreadable':
      return `unreadable: ${view.error}`;
    case 'held':
      return `held by ${view.owner}, fence ${view.fence}, expires ${inOrAgo(view.expiresInMs ?? 0)} (${view.expiresAt})`;
  }
}

/** "; certificates expire in 25d (…), renewal due": what a member last reported (kboot rotate). */
function certificatesNote(member: MemberRecord, nowMs: number): string {
  if (member.certificatesExpireAt === undefined) return '';
  const deltaMs = msUntil(member.certificatesExpireAt, nowMs);
  const due =
    deltaMs >= 0 && certificatesDue(Date.parse(member.certificatesExpireAt), nowMs) ? ', renewal due' : '';
  const checked =
    member.certificatesCheckedAt === undefined
      ? ''
      : `, checked ${inOrAgo(msUntil(member.certificatesCheckedAt, nowMs))}`;
  const state =
    deltaMs >= 0
      ? `expire ${inOrAgo(deltaMs)} (${member.certificatesExpireAt})`
      : `EXPIRED ${inOrAgo(deltaMs)} (${member.certificatesExpireAt})`;
  return `; certificates ${state}${due}${checked}`;
}

const LABEL_WIDTH = 25;

function row(label: string, value: string): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${value}`;
}

export function renderClusterStatus(view: ClusterStatusView, nowMs: number): string {
  const lines = [`cluster ${view.cluster} (table ${view.table})`];
  if (view.record === 'absent')
    lines.push(row('record', 'none yet (written by `kboot cluster create` or the first master)'));
  if (view.record === 'unreadable') lines.push(row('record', `unreadable: ${view.recordError}`));
  if (view.record === 'present') {
    lines.push(
      row('endpoint', view.apiEndpoint ?? '-'),
      row('region', view.region ?? '-'),
      row('kubernetes', view.kubernetesVersion ?? '-'),
      row('pod CIDR', view.podCidr ?? '-'),
      row('service CIDR', view.serviceCidr ?? '-'),
      row('external DNS', view.externalDns ?? '-'),
      row(
        'addons',
        view.addons === null
          ? '- (not recorded: each node uses its node config)'
          : `CNI ${view.addons.cni}, cloud controller ${view.addons.cloudController ? 'on' : 'off'}`,
      ),
      row('created', `${view.createdAt} by ${view.createdBy}`),
      row(
        'initialized',
        view.initialized === null
          ? 'no'
          : `yes, by ${view.initialized.by} ${inOrAgo(Date.parse(view.initialized.at) - nowMs)} (${view.initialized.at}, fence ${view.initialized.fence})`,
      ),
    );
    const restored = view.restoredFrom;
    if (restored !== null) {
      lines.push(
        row(
          'restored',
          `restored from ${restored.key} (revision ${restored.revision}, taken ${restored.takenAt}) by ${restored.by} ${inOrAgo(Date.parse(restored.restoredAt) - nowMs)}`,
        ),
      );
    }
  }
  for (const name of LOCK_NAMES) lines.push(row(`${name} lock`, lockLine(view.locks[name])));
  if (view.record === 'present') {
    const material = view.joinMaterial;
    lines.push(
      row(
        'join material',
        material === null
          ? 'none recorded'
          : [
              `updated ${inOrAgo(-material.ageMs)} (${material.updatedAt})`,
              expiry('token', material.tokenExpiresAt, material.tokenExpiresInMs),
              ...(material.certificateKeyExpiresAt === null
                ? []
                : [
                    expiry(
                      'certificate key',
                      material.certificateKeyExpiresAt,
                      material.certificateKeyExpiresInMs ?? 0,
                    ),
                  ]),
              ...(material.adminConfExpiresAt === null
                ? []
                : [expiry('admin.conf', material.adminConfExpiresAt, material.adminConfExpiresInMs ?? 0)]),
            ].join('; '),
      ),
    );
    const failure = view.lastFailure;
    lines.push(
      row(
        'last failure',
        failure === null
          ? 'none'
          : `${failure.at} on ${failure.by} in step ${failure.step}: ${failure.message}`,
      ),
    );
    if (view.upgrade !== null) lines.push(row('upgrade', upgradeStatusLine(view.upgrade)));
  }
  lines.push(row('etcd snapshot', snapshotStatusLine(view.etcdSnapshots)));
  lines.push(row('members', view.members.length === 0 ? 'none recorded' : String(view.members.length)));
  for (const member of view.members) {
    lines.push(
      row(
        '',
        `${member.instanceId} ${member.role}${member.kubernetesVersion === undefined ? '' : ` ${member.kubernetesVersion}`} joined ${member.joinedAt}${member.fence === undefined ? '' : ` (fence ${member.fence})`}${member.bootTimeline === undefined ? '' : `; boot: ${describeTimeline(member.bootTimeline, formatDurationMs)}`}${certificatesNote(member, nowMs)}`,
      ),
    );
  }
  return lines.join('\n');
}
