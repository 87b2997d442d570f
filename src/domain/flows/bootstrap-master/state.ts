/** What the bootstrap-master steps share: the flow's state, its step type, and how it ends when another master initialized the cluster first. */

import type { Secret } from '../../../core/secrets.js';
import type { Addon } from '../../addons/plan.js';
import type { IrsaSettings } from '../../irsa/issuer.js';
import type { PublishedSecret } from '../../join/store.js';
import type { InitConfigInput } from '../../kubeadm/types.js';
import type { ClusterRecord } from '../../state/cluster-record.js';
import type { LeaseRef } from '../../state/lease.js';
import type { Step } from '../../steps/step.js';
import type { LocalKubeadm } from '../common.js';
import type { ClusterStatePorts, FlowDeps } from '../deps.js';
import type { StartState } from '../start-steps.js';

/** How the flow ends when another master initialized the cluster first. */
export const ALREADY_INITIALIZED = 'the cluster is already initialized';

export interface BootstrapState extends StartState {
  kubeadm: LocalKubeadm;
  ports: ClusterStatePorts;
  record: ClusterRecord;
  /** Set when no record existed: the record this master writes. */
  proposedRecord: ClusterRecord;
  nodeName: string;
  token: Secret;
  certificateKey: Secret;
  /** The secretbox key of encryption at rest, when it uses secretbox (made here, at init). */
  encryptionKey: Secret;
  irsa: IrsaSettings | undefined;
  addons: Addon[];
  initInput: InitConfigInput;
  lease: LeaseRef;
  caHash: string;
  /** The version of `kboot/<cluster>/pki` this init wrote (pki-secret.ts). */
  pkiSecret: PublishedSecret;
  adminConf: Secret;
  /** The addon being applied, for the failure record ("addon cilium"). */
  applyingAddon: string;
}

export type BootstrapStep = Step<BootstrapState, FlowDeps>;

export function alreadyInitialized(record: ClusterRecord, deps: FlowDeps): { end: string } {
  deps.logger.info({ by: record.initialized?.by, at: record.initialized?.at }, ALREADY_INITIALIZED);
  return { end: ALREADY_INITIALIZED };
}
