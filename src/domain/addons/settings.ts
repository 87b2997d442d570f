/**
 * Which addons a cluster has. `cni` and `cloudController` bind the whole cluster: the cluster
 * record holds them (written by `kboot cluster create`, or by the first master from its node
 * config); a record of an earlier version without them falls back to the node config. Both are
 * off unless asked for: kboot never installs a network or a controller the operator did not choose.
 */

import type { AddonsConfig } from '../config/node-config.js';
import type { ClusterAddons, ClusterRecord } from '../state/cluster-record.js';

export const DEFAULT_MANIFESTS_DIR = '/etc/kboot/addons.d';

/** The cluster-wide choices a node config asks for (defaults: no CNI, no cloud controller). */
export function clusterAddonsFromConfig(config: AddonsConfig | undefined): ClusterAddons {
  return { cni: config?.cni ?? 'none', cloudController: config?.cloudController ?? false };
}

/** The cluster's addons: the record's when it has them, else this node's config. */
export function effectiveClusterAddons(
  record: Pick<ClusterRecord, 'addons'>,
  config: AddonsConfig | undefined,
): ClusterAddons {
  return record.addons ?? clusterAddonsFromConfig(config);
}

/**
 * The kubelet's cloud provider on every node of the cluster: `external` exactly when the AWS
 * cloud-controller-manager runs (it removes the node.cloudprovider.kubernetes.io/uninitialized
 * taint the kubelet sets with `external`; without it, that taint would keep pods off the node).
 */
export function kubeletCloudProvider(addons: ClusterAddons): 'external' | 'none' {
  return addons.cloudController ? 'external' : 'none';
}
