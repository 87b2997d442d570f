/** The bootstrap lease, and the check under it that no other master initialized the cluster meanwhile. */

import { StateConflictError } from '../../../core/errors.js';
import { type LeaseRequest, leaseStep } from '../../steps/lease-step.js';
import type { StepContext } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';
import { alreadyInitialized, type BootstrapState, type BootstrapStep } from './state.js';

/** The cluster's bootstrap lease, waited for until the flow's wait deadline (the first init, and the recovery of a lost control plane). */
export async function bootstrapLeaseRequest({
  state,
  deps,
}: StepContext<BootstrapState, FlowDeps>): Promise<LeaseRequest> {
  const identity = state.get('identity');
  return {
    lock: state.get('ports').lock(identity.clusterName, 'bootstrap'),
    options: {
      owner: identity.instance.instanceId,
      clock: deps.clock,
      leaseMs: deps.settings.leaseMs,
      pollMs: deps.settings.pollMs,
      acquireDeadlineMs: deps.clock.nowMs() + deps.settings.waitTimeoutMs,
    },
  };
}

export const bootstrapLease = leaseStep<BootstrapState, FlowDeps>({
  name: 'bootstrap-lease',
  describe: (state) => `take the bootstrap lease of cluster ${state.get('identity').clusterName}`,
  request: bootstrapLeaseRequest,
  acquired({ state, logger }, lease) {
    logger.info({ fence: lease.fence }, 'holding the bootstrap lease; initializing the cluster');
    state.set({ lease });
  },
  busy(_ctx, _current, notAcquired) {
    throw notAcquired;
  },
});

export const recheckInitialized: BootstrapStep = {
  name: 'recheck-initialized',
  kind: 'read',
  afterChange: true,
  describe: () => 'check again, under the lease, that no other master initialized the cluster meanwhile',
  async run({ state, deps, signal }) {
    const cluster = state.get('identity').clusterName;
    const current = await state.get('ports').records.readRecord(cluster, signal);
    if (current === undefined) {
      // The record was written (or found) before the lease: it was deleted meanwhile, so the
      // cluster is being torn down. No kubeadm init, no join material for it.
      throw new StateConflictError(
        `the record of cluster "${cluster}" was deleted while this master waited for the bootstrap lease`,
        {
          hint: `check \`kboot status --cluster ${cluster}\`; boot the masters again once the cluster is created`,
        },
      );
    }
    state.set({ record: current });
    if (current.initialized === undefined) return undefined;
    deps.logger.info('another master initialized the cluster while this one waited for the lease');
    return alreadyInitialized(current, deps);
  },
};
