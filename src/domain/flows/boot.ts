/**
 * `kboot boot`: the one command for user-data. Workers join (join-node). A control-plane instance
 * bootstraps the cluster if it wins the bootstrap lease while the cluster is uninitialized, and
 * otherwise joins it as a control-plane member: an instance that waited for the lease finds the
 * cluster initialized when it gets the lease, and one whose lease holder died takes over after
 * the lease runs out. A control-plane instance that finds the cluster initialized first checks
 * whether its whole control plane is lost, and restores it from the newest etcd snapshot if so
 * (recover-control-plane.ts). The flows run one after the other, each with its own undo chain.
 */

import { type FlowRun, runFlow } from '../steps/runner.js';
import type { RunSettings } from '../steps/step.js';
import type { FlowDeps, FlowResult } from './deps.js';
import { joinNodeFlow } from './join-node.js';

export async function runBoot(deps: FlowDeps, settings: RunSettings): Promise<FlowRun<FlowResult>> {
  const identity = await deps.identity();
  const asBoot = (run: FlowRun<FlowResult>): FlowRun<FlowResult> => ({
    ...run,
    result: { ...run.result, flow: 'boot' },
  });
  if (identity.role === 'worker') return asBoot(await runFlow(joinNodeFlow, deps, settings));
  // The control plane's modules load only here: a worker's boot never evaluates them.
  const [{ bootstrapMasterFlow }, { joinMasterFlow }] = await Promise.all([
    import('./bootstrap-master.js'),
    import('./join-master.js'),
  ]);
  const bootstrap = await runFlow(bootstrapMasterFlow, deps, settings);
  if (bootstrap.result.outcome !== 'already-initialized') return asBoot(bootstrap);
  let before = bootstrap;
  if (deps.recoveryPorts !== undefined) {
    // A cluster that lost its whole control plane is restored here, and only when every check of
    // recover-control-plane.ts says so; in the common case EC2 says a member runs, and it ends at once.
    const { recoverControlPlaneFlow } = await import('./recover-control-plane.js');
    const recovery = await runFlow(
      recoverControlPlaneFlow,
      { ...deps, recovery: await deps.recoveryPorts() },
      settings,
    );
    if (recovery.result.outcome !== 'not-lost') return asBoot(chained(bootstrap, recovery));
    before = chained(bootstrap, recovery);
  }
  deps.logger.info('the cluster is initialized; joining as a control-plane member');
  const join = await runFlow(joinMasterFlow, deps, settings);
  return asBoot(chained(before, join));
}

/** One run of two flows run one after the other: one timeline from the start of the first. */
function chained(first: FlowRun<FlowResult>, second: FlowRun<FlowResult>): FlowRun<FlowResult> {
  const shiftMs = second.startedAtMs - first.startedAtMs;
  return {
    ...second,
    timings: [...first.timings, ...second.timings.map((t) => ({ ...t, atMs: t.atMs + shiftMs }))],
    planned: [...first.planned, ...second.planned],
    milestones: [...first.milestones, ...second.milestones.map((m) => ({ ...m, atMs: m.atMs + shiftMs }))],
    startedAtMs: first.startedAtMs,
  };
}
