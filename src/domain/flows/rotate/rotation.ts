/** What every step of one rotation needs, built once the cluster record is read. */

import type { JoinMaterialStore } from '../../join/store.js';
import type { ClusterRecord, SecretVersions } from '../../state/cluster-record.js';
import type { LeaseRef } from '../../state/lease.js';
import type { LocalKubeadm } from '../common.js';
import type { ClusterStatePorts, FlowDeps } from '../deps.js';
import type { RotatePolicy } from '../rotate-plan.js';

/** Short, so a rotating master that dies is replaced at another master's next timer run. */
export const DEFAULT_ROTATE_LEASE_MS = 2 * 60_000;
/** One kubeadm call against the API server (token create/list/delete, upload-certs). */
export const KUBEADM_API_TIMEOUT_MS = 2 * 60_000;
export const TOKEN_CONFIG_PATH = '/var/lib/kboot/kubeadm/token.yaml';
export const UPLOAD_CERTS_CONFIG_PATH = '/var/lib/kboot/kubeadm/upload-certs.yaml';

export interface RotateOptions extends RotatePolicy {
  /** How long to wait for a joining master to release the control-plane-join lease. */
  joinWaitMs: number;
  /** The rotate lease (default 2 minutes; renewed while working). */
  leaseMs?: number;
  /** Renew this member's kubeadm certificates with less left than this (default 30 days). */
  certificatesRenewBeforeMs?: number;
  /** How long the kubelet gets to stop, then start, a static Pod (default 25 s: fileCheckFrequency + margin). */
  staticPodWaitMs?: number;
  /** How long the restarted API server gets to answer /readyz (default 3 minutes; api-health.ts). */
  apiHealthTimeoutMs?: number;
}

export interface Rotation {
  deps: FlowDeps;
  options: RotateOptions;
  leaseMs: number;
  cluster: string;
  owner: string;
  record: ClusterRecord;
  /** The local kubeadm, asked once and only when something is renewed. */
  kubeadm(): Promise<LocalKubeadm>;
  ports: ClusterStatePorts;
  store: JoinMaterialStore;
  /** The rotate lease once taken: the stamp (and the versions it names) is written under it. */
  lease?: LeaseRef;
  /** Secret versions published by this run, recorded with the stamp. */
  published: SecretVersions;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function publishOptions(record: ClusterRecord): { kmsKeyId?: string } {
  return record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId };
}

/** Writes `content` to a 0600 file, runs kubeadm with it, and removes it whatever happens. */
export async function runKubeadmWithConfig(
  rotation: Rotation,
  configPath: string,
  content: string,
  args: (file: string) => string[],
  signal: AbortSignal,
): Promise<void> {
  const { fs, kubeadm } = rotation.deps;
  await fs.writePrivateFile(configPath, content);
  try {
    await kubeadm.run(args(fs.resolve(configPath)), { timeoutMs: KUBEADM_API_TIMEOUT_MS, signal });
  } finally {
    await fs.remove(configPath);
  }
}
