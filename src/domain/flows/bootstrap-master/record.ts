/**
 * The cluster record: read it, or work out the one to write (config, tags and discovery) and
 * write it only if no other master wrote one first.
 */

import { ConfigError } from '../../../core/errors.js';
import { clusterAddonsFromConfig } from '../../addons/settings.js';
import type { Identity } from '../../identity/resolve.js';
import { formatKubeVersion } from '../../kubeadm/version.js';
import { type ClusterRecord, newClusterRecord } from '../../state/cluster-record.js';
import type { LocalKubeadm } from '../common.js';
import type { FlowDeps } from '../deps.js';
import { alreadyInitialized, type BootstrapStep } from './state.js';

const DEFAULT_POD_CIDR = '10.244.0.0/16';
const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/**
 * The record this master would write when none exists: node config, tags and discovery (region
 * and IP from IMDS; the API endpoint given, or the DNS name of the load balancer tagged for the
 * cluster).
 */
async function proposedRecord(
  deps: FlowDeps,
  identity: Identity,
  kubeadm: LocalKubeadm,
  table: string,
): Promise<ClusterRecord> {
  const cluster = identity.clusterName;
  const apiEndpoint = deps.config.apiEndpoint ?? (await deps.discoverApiEndpoint(cluster));
  if (apiEndpoint === undefined) {
    throw new ConfigError(
      `cluster "${cluster}" has no record yet, and no API endpoint is configured or discoverable`,
      {
        hint:
          "create the cluster with 'kboot cluster create', tag the API load balancer kubernetes.io/cluster/" +
          `${cluster}=owned, or set apiEndpoint in /etc/kboot/config.yaml`,
      },
    );
  }
  if (deps.config.apiEndpoint === undefined) {
    deps.logger.info(
      { apiEndpoint },
      'discovered the API endpoint: the load balancer tagged for the cluster',
    );
  }
  return newClusterRecord(
    {
      clusterName: cluster,
      region: identity.instance.region,
      apiEndpoint,
      podCidr: deps.config.podCidr ?? DEFAULT_POD_CIDR,
      serviceCidr: deps.config.serviceCidr ?? DEFAULT_SERVICE_CIDR,
      kubernetesVersion: deps.config.kubernetesVersion ?? formatKubeVersion(kubeadm.version),
      ...(deps.config.externalDns === undefined ? {} : { externalDns: deps.config.externalDns }),
      addons: clusterAddonsFromConfig(deps.config.addons),
      createdBy: identity.instance.instanceId,
      createdAt: new Date(deps.clock.nowMs()).toISOString(),
    },
    table,
  );
}

export const readRecord: BootstrapStep = {
  name: 'cluster-record',
  kind: 'read',
  describe: () => 'read the cluster record (or work out the one to write, from config, tags and discovery)',
  async run({ state, deps, signal }) {
    const ports = await deps.state();
    const identity = state.get('identity');
    state.set({ ports });
    const existing = await ports.records.readRecord(identity.clusterName, signal);
    if (existing !== undefined) {
      state.set({ record: existing });
      return existing.initialized === undefined ? undefined : alreadyInitialized(existing, deps);
    }
    const proposed = await proposedRecord(deps, identity, state.get('kubeadm'), ports.records.tableName);
    state.set({ record: proposed, proposedRecord: proposed });
    return undefined;
  },
};

export const writeRecord: BootstrapStep = {
  name: 'write-cluster-record',
  kind: 'change',
  describe: (state) =>
    `write the record of cluster ${state.get('identity').clusterName} (only if no other master wrote one first)`,
  skip: (state) => (state.has('proposedRecord') ? undefined : 'the cluster has a record'),
  noUndo:
    'the record describes the cluster, not this attempt: a retry uses it (a conditional put, never overwritten)',
  async run({ state, deps, signal }) {
    const { records } = state.get('ports');
    const proposed = state.get('proposedRecord');
    const outcome = await records.putRecordIfAbsent(proposed, signal);
    if (outcome.created) {
      deps.logger.info(
        { cluster: proposed.clusterName, apiEndpoint: proposed.apiEndpoint, table: records.tableName },
        'wrote the cluster record',
      );
    } else if (outcome.differences.length > 0) {
      deps.logger.warn(
        { differences: outcome.differences },
        'another master wrote the cluster record first with different settings; using its record',
      );
    }
    state.set({ record: outcome.record });
    return outcome.record.initialized === undefined ? undefined : alreadyInitialized(outcome.record, deps);
  },
};
