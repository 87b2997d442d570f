/**
 * What the boot flows need from the world, as narrow ports. The CLI edge builds the real ones
 * (IMDS, DynamoDB, Secrets Manager, execa, the filesystem root); tests can pass fakes.
 */

import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { CleanupWiring } from '../cleanup/ports.js';
import type { NodeConfig } from '../config/node-config.js';
import type { Identity } from '../identity/resolve.js';
import type { OidcPublisher } from '../irsa/publisher.js';
import type { JoinMaterialStore } from '../join/store.js';
import type { PkiSecretStore } from '../pki/store.js';
import type { InstanceFiles } from '../ports/files.js';
import type { KubeadmRunner } from '../ports/kubeadm.js';
import type { KubectlRunner } from '../ports/kubectl.js';
import type { RecoveryWiring } from '../recovery/ports.js';
import type {
  ClusterRecordReader,
  ClusterRecordWriter,
  ClusterStateLister,
  MemberCertificatesRecorder,
  MemberRegistry,
} from '../state/cluster-store.js';
import type { LeaseLock, LockName } from '../state/lease.js';

export interface ClusterStatePorts {
  records: ClusterRecordReader & ClusterRecordWriter & MemberRegistry;
  /** Where a control-plane member reports its certificates' expiry (`kboot rotate`). */
  memberCertificates: MemberCertificatesRecorder;
  /**
   * The record and the members in one read: a worker at an upgrade's target reads the control
   * plane's versions here while it waits (./join-admission.ts); nothing else reads it at boot.
   */
  clusterState: Pick<ClusterStateLister, 'readClusterState'>;
  lock(cluster: string, name: LockName): LeaseLock;
}

export interface FlowSettings {
  dryRun: boolean;
  /** How long a joiner waits for initialization (and a master for the join lock). */
  waitTimeoutMs: number;
  /** Bootstrap and control-plane-join lease length. */
  leaseMs: number;
  /** How long one kubeadm init or join may take. */
  kubeadmTimeoutMs: number;
  /** Lifetime of the bootstrap token the first master creates (finite, never 0). */
  tokenTtlMs: number;
  /** Join material with less life left than this is treated as expired. */
  minMaterialLifeMs: number;
  /** Base interval between polls while waiting. */
  pollMs: number;
  /** How long one addon's kubectl apply may take (timeouts.addons). */
  addonTimeoutMs: number;
}

export interface FlowDeps {
  logger: Logger;
  clock: Clock;
  fs: InstanceFiles;
  config: NodeConfig;
  settings: FlowSettings;
  identity(): Promise<Identity>;
  /** The node name: the instance's private DNS name (one IMDS read, only when rendering). */
  privateDnsName(): Promise<string>;
  state(): Promise<ClusterStatePorts>;
  joinMaterial(): Promise<JoinMaterialStore>;
  /** The cluster PKI kept outside etcd (`kboot/<cluster>/pki`): the first master writes it, a recovering one reads it. */
  pkiSecrets(): Promise<PkiSecretStore>;
  /** Publishes the IRSA OIDC documents (first master, when `addons.irsa` is configured). */
  oidcPublisher(): Promise<OidcPublisher>;
  /** The DNS name of the load balancer tagged for the cluster, if there is one (discovery). */
  discoverApiEndpoint(cluster: string): Promise<string | undefined>;
  kubeadm: KubeadmRunner;
  /** kubectl against a kubeconfig (the first master's addons). */
  kubectl: KubectlRunner;
  /** The cleanup of lost instances (rotate, join-master). */
  cleanup: CleanupWiring;
  /** The recovery of a lost control plane (`kboot boot` on a control-plane instance): absent, boot never restores. */
  recoveryPorts?(): Promise<RecoveryWiring>;
}

/** The boot flows (FlowResult) and the day-two flows, which have results of their own. */
export type FlowName =
  | 'boot'
  | 'bootstrap-master'
  | 'recover-control-plane'
  | 'join-master'
  | 'join-node'
  | 'rotate'
  | 'cleanup'
  | 'leave'
  | 'approve-csrs'
  | 'leave-controller';

export type FlowOutcome =
  | 'initialized'
  | 'restored'
  | 'not-lost'
  | 'joined-control-plane'
  | 'joined-worker'
  | 'already-member'
  | 'already-initialized'
  | 'planned';

export interface FlowResult {
  flow: FlowName;
  outcome: FlowOutcome;
  cluster: string;
  role: string;
  instanceId: string;
  /** What the outcome means, one line. */
  summary: string;
}
