/** What the recovery steps share: the flow's state (the bootstrap's, and what recovery adds), its deps and step type. */

import type { SnapshotRecord } from '../../backup/snapshot-record.js';
import type { InstanceLookup } from '../../cleanup/ports.js';
import type { PkiBundle } from '../../pki/bundle.js';
import type { RecordedMaster, Verdict } from '../../recovery/decide.js';
import type { RecoveryBackup, RecoveryWiring } from '../../recovery/ports.js';

export type { RecoveryWiring, RestoredStamp } from '../../recovery/ports.js';

import type { Step } from '../../steps/step.js';
import type { BootstrapState } from '../bootstrap-master/state.js';
import type { FlowDeps } from '../deps.js';

export interface RecoveryDeps extends FlowDeps {
  recovery: RecoveryWiring;
}

export interface RecoverState extends BootstrapState {
  /** The recorded control-plane members (this instance excluded). */
  masters: RecordedMaster[];
  /** What EC2 said of them. */
  instances: InstanceLookup;
  /** The fence of the `initialized` the lost cluster had: the restore replaces only that one. */
  lostFence: number;
  pki: PkiBundle;
  verdict: Verdict;
  backup: RecoveryBackup;
  /** The etcd data directory kubeadm's stacked etcd uses, as a path on this machine. */
  dataDir: string;
  /** The snapshot restored (the newest whose SHA-256 verified). */
  snapshot: SnapshotRecord;
  /** Newer snapshots refused, by key, with why. */
  refused: { key: string; reason: string }[];
  download: string;
}

export type RecoverStep = Step<RecoverState, RecoveryDeps>;

/** How the flow ends when the cluster is not lost (or not initialized, or restored by another instance). */
export const NOT_LOST = 'the control plane is not lost: joining it';
