/**
 * The one place that names the implementations of what `kboot cluster upgrade` asks of the
 * cluster itself (src/domain/upgrade/ports.ts): the Kubernetes adapters
 * (src/adapters/kubernetes/cluster-side.ts): the full health gate (the API through the load
 * balancer, etcd's members, health and alarms, the control-plane static Pods, the Nodes), the
 * kubeadm-config/kubelet-config ClusterConfiguration, and the addons bound to the version. The
 * cluster is reached with its admin kubeconfig (the Secrets Manager version the record names),
 * written for the command's lifetime to a 0600 file in a 0700 directory of its own and removed at
 * the end.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AwsClients } from '../../adapters/aws/clients.js';
import { SecretsJoinMaterialStore } from '../../adapters/aws/secrets-join-material.js';
import { clusterSide as kubernetesClusterSide } from '../../adapters/kubernetes/cluster-side.js';
import { kubectlRunner } from '../../adapters/process/kubectl.js';
import type { Logger } from '../../core/logger.js';
import type { ClusterRecord } from '../../domain/state/cluster-record.js';
import type { ClusterConfiguration, ClusterHealth, VersionedAddons } from '../../domain/upgrade/ports.js';

export interface ClusterSide {
  health: ClusterHealth;
  configuration: ClusterConfiguration;
  addons: VersionedAddons;
  /** Removes the admin kubeconfig file; never throws. */
  close(): Promise<void>;
}

export interface ClusterSideInput {
  cluster: string;
  record: ClusterRecord;
  clients: AwsClients;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

export async function clusterSide(input: ClusterSideInput): Promise<ClusterSide> {
  const store = new SecretsJoinMaterialStore({
    clients: input.clients,
    logger: input.logger,
    signal: input.signal,
  });
  const adminConf = await store.readAdminConf(input.cluster, input.record.joinMaterial?.versions?.adminConf);
  const dir = await mkdtemp(path.join(tmpdir(), 'kboot-upgrade-'));
  const kubeconfig = path.join(dir, 'admin.conf');
  const close = async () => {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await writeFile(kubeconfig, adminConf.reveal(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await close();
    throw error;
  }
  const kubectl = kubectlRunner({
    command: input.env.KBOOT_KUBECTL ?? 'kubectl',
    logger: input.logger,
    env: input.env,
  });
  const side = kubernetesClusterSide({
    kubectl,
    kubeconfigPath: kubeconfig,
    apiEndpoint: input.record.apiEndpoint,
    signal: input.signal,
  });
  return { ...side, close };
}
