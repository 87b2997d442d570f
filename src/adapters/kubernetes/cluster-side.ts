/**
 * The cluster side of the upgrade roll (../../domain/upgrade/ports.ts) over kubectl with the
 * cluster's admin kubeconfig: one constructor per port, and `clusterSide` for all three.
 */

import type { ClusterConfiguration, ClusterHealth, VersionedAddons } from '../../domain/upgrade/ports.js';
import { KubectlClusterConfiguration } from './cluster-configuration.js';
import { KubectlClusterHealth } from './cluster-health.js';
import type { ClusterSideOptions } from './kubectl-objects.js';
import { KubectlVersionedAddons } from './versioned-addons.js';

export type { ClusterSideOptions } from './kubectl-objects.js';
export { KubectlClusterConfiguration, KubectlClusterHealth, KubectlVersionedAddons };

export interface ClusterSide {
  health: ClusterHealth;
  configuration: ClusterConfiguration;
  addons: VersionedAddons;
}

export function clusterSide(options: ClusterSideOptions): ClusterSide {
  return {
    health: new KubectlClusterHealth(options),
    configuration: new KubectlClusterConfiguration(options),
    addons: new KubectlVersionedAddons(options),
  };
}
