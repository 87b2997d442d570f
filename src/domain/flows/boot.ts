/**
 * `kboot boot`: the one command for user-data. Workers join (join-node). A control-plane instance
 * bootstraps the cluster if it wins the bootstrap lease while the cluster is uninitialized, and
 * otherwise joins it as a control-plane member: an instance that waited for the lease finds the
 * cluster initialized when it gets the lease, and one whose lease holder died takes over after
 * the lease runs out. Two flows run one after the other, each with its own undo chain.
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
  deps.logger.info('the cluster is initialized; joining as a control-plane member');
  const join = await runFlow(joinMasterFlow, deps, settings);
  // One timeline from the start of the first flow.
  const shiftMs = join.startedAtMs - bootstrap.startedAtMs;
  return asBoot({
    ...join,
    timings: [...bootstrap.timings, ...join.timings.map((t) => ({ ...t, atMs: t.atMs + shiftMs }))],
    planned: [...bootstrap.planned, ...join.planned],
    milestones: [...bootstrap.milestones, ...join.milestones.map((m) => ({ ...m, atMs: m.atMs + shiftMs }))],
    startedAtMs: bootstrap.startedAtMs,
  });
}
