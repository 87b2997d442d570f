/**
 * `kboot boot`: the one command for user-data. Workers join. A control-plane instance
 * bootstraps the cluster if it wins the bootstrap lease while the cluster is uninitialized, and
 * otherwise joins it as a control-plane member: an instance that waited for the lease finds the
 * cluster initialized when it gets the lease, and one whose lease holder died takes over after
 * the lease runs out.
 */

import type { FlowDeps, FlowResult } from './deps.js';
import { joinNode } from './join-node.js';
import type { Steps } from './steps.js';

export async function boot(deps: FlowDeps, steps: Steps): Promise<FlowResult> {
  const identity = await deps.identity();
  if (identity.role === 'worker') return { ...(await joinNode(deps, steps)), flow: 'boot' };
  // The control plane's modules load only here: a worker's boot never evaluates them.
  const { bootstrapMaster } = await import('./bootstrap-master.js');
  const { joinMaster } = await import('./join-master.js');
  const bootstrap = await bootstrapMaster(deps, steps, { waitForLease: true });
  if (bootstrap.outcome !== 'already-initialized') return { ...bootstrap, flow: 'boot' };
  deps.logger.info('the cluster is initialized; joining as a control-plane member');
  return { ...(await joinMaster(deps, steps)), flow: 'boot' };
}
