/**
 * The edge of the boot flows: options and the node config resolved into settings (flags >
 * environment > config file > tags > discovery > defaults), the real adapters wired into the
 * flows' ports (flow-deps.ts), the flow run and its result printed (run-flow.ts).
 */

import { formatDurationMs } from '../../core/duration.js';
import type { FlowDeps, FlowResult } from '../../domain/flows/deps.js';
import { type FlowRun, FlowStopped } from '../../domain/steps/runner.js';
import type { RunSettings } from '../../domain/steps/step.js';
import { bootTimeline, describeTimeline } from '../../domain/steps/timeline.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export type BootFlowOptions = FlowEdgeOptions;

type BootFlowName = 'boot' | 'bootstrap-master' | 'join-master' | 'join-node';
type Run = (deps: FlowDeps, settings: RunSettings) => Promise<FlowRun<FlowResult>>;

/**
 * Each flow's modules load when it runs: a worker's join never evaluates the control plane's
 * (addons, IRSA, ip-num's CIDR maths), which would cost it CPU at every boot.
 */
const FLOWS: Record<BootFlowName, () => Promise<Run>> = {
  boot: async () => (await import('../../domain/flows/boot.js')).runBoot,
  'bootstrap-master': async () => {
    const [{ runFlow }, { bootstrapMasterFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/bootstrap-master.js'),
    ]);
    return (deps, settings) => runFlow(bootstrapMasterFlow, deps, settings);
  },
  'join-master': async () => {
    const [{ runFlow }, { joinMasterFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/join-master.js'),
    ]);
    return (deps, settings) => runFlow(joinMasterFlow, deps, settings);
  },
  'join-node': async () => {
    const [{ runFlow }, { joinNodeFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/join-node.js'),
    ]);
    return (deps, settings) => runFlow(joinNodeFlow, deps, settings);
  },
};

/**
 * One `boot timeline` line at the end of every boot (the moments from the instance's launch, and
 * each step), so a slow boot can be read from the journal. No AWS call: the launch time is in the
 * identity document kboot read anyway.
 */
async function logTimeline(
  deps: FlowDeps,
  run: Pick<FlowRun<unknown>, 'timings' | 'milestones' | 'startedAtMs'>,
  finished: boolean,
): Promise<void> {
  const launchedAtMs = await deps.identity().then(
    (identity) => identity.instance.launchedAtMs,
    () => undefined,
  );
  const timeline = bootTimeline({ ...run, launchedAtMs, finished });
  deps.logger.info(
    { timeline, sinceProcessStartMs: Math.round(performance.now()) },
    `boot timeline: ${describeTimeline(timeline, formatDurationMs)}`,
  );
}

function flowHandler(flow: BootFlowName) {
  return async (options: BootFlowOptions, ctx: CommandContext): Promise<void> => {
    const loaded = await loadNodeConfig(ctx, options.config);
    const settings = flowSettings(options, loaded.config, ctx.env);
    const { deps, close } = wireFlowDeps(ctx, flow, loaded, settings);
    try {
      const run = await FLOWS[flow]();
      await runFlowCommand(ctx, { flow, dryRun: settings.dryRun }, async () => {
        try {
          const done = await run(
            deps,
            runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.boot),
          );
          if (!settings.dryRun) await logTimeline(deps, done, done.result.outcome !== 'already-member');
          return done;
        } catch (error) {
          if (error instanceof FlowStopped) await logTimeline(deps, error, false);
          throw error;
        }
      });
    } finally {
      close();
    }
  };
}

export const bootCommand = flowHandler('boot');
export const bootstrapMasterCommand = flowHandler('bootstrap-master');
export const joinMasterCommand = flowHandler('join-master');
export const joinNodeCommand = flowHandler('join-node');
