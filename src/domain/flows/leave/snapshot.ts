/**
 * A control-plane member takes an etcd snapshot (the `kboot etcd snapshot --force` flow: its
 * lease, record and retention) before its etcd member is removed, when backup is configured. The
 * upgrade roll replaces control-plane members through leave, so every upgrade step starts from a
 * fresh snapshot. A failed snapshot is logged and reported, and the leave goes on: the instance is
 * being terminated whatever kboot does, and holding its member back would only make the cluster
 * run with one member fewer than it thinks (the timer's snapshots of the other members go on).
 */

import { report } from './report.js';
import type { LeaveStep } from './types.js';

/** kubeadm's static pod manifest of the stacked etcd member; `kubeadm reset` removes it. */
const ETCD_MANIFEST_PATH = '/etc/kubernetes/manifests/etcd.yaml';

/** A snapshot before leaving gets this long (a 200 MB database takes seconds), then the leave goes on. */
export const SNAPSHOT_BEFORE_LEAVE_MS = 5 * 60_000;

const NAME = 'etcd-snapshot';

export const snapshotBeforeLeave: LeaveStep = {
  name: NAME,
  kind: 'change',
  describe: () =>
    'take a snapshot of etcd to the backup bucket before this master leaves it (as kboot etcd snapshot --force; only when backup.bucket is configured; a failure is logged, not fatal)',
  skip: (state) => {
    const leaving = state.get('leaving');
    const why = leaving.controlPlane ? undefined : 'a worker has no etcd member';
    if (why !== undefined) report(leaving, NAME, 'skipped', why);
    return why;
  },
  noUndo: 'a snapshot taken is kept, as any other (retention deletes it in time)',
  async run({ state, signal, logger }) {
    const leaving = state.get('leaving');
    leaving.signal = signal;
    const { deps } = leaving;
    if (deps.snapshotEtcd === undefined) {
      report(leaving, NAME, 'skipped', 'this command has no snapshot port');
      return undefined;
    }
    if (!(await deps.fs.exists(ETCD_MANIFEST_PATH))) {
      report(leaving, NAME, 'skipped', `no local etcd (${ETCD_MANIFEST_PATH} is gone: kubeadm reset ran)`);
      return undefined;
    }
    try {
      const taken = await deps.snapshotEtcd(
        AbortSignal.any([signal, AbortSignal.timeout(SNAPSHOT_BEFORE_LEAVE_MS)]),
      );
      if (taken.outcome === 'no-bucket' || taken.outcome === 'not-member') {
        report(leaving, NAME, 'skipped', taken.summary);
      } else report(leaving, NAME, 'done', taken.summary);
    } catch (error) {
      // A stop (SIGTERM) ends the leave as it would in any step; anything else is not fatal.
      if (signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(
        { err: error },
        'the etcd snapshot before leaving failed; leaving anyway (the timer of the other members snapshots on)',
      );
      leaving.reports.push({
        step: NAME,
        outcome: 'failed',
        detail: `snapshot failed (not fatal): ${message}`,
      });
    }
    return undefined;
  },
};
