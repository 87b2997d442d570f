/**
 * The edge of the boot flows: options and the node config resolved into settings (flags >
 * environment > config file > tags > discovery > defaults), the real adapters wired into the
 * flows' ports (flow-deps.ts), the result printed.
 */

import type { FlowDeps, FlowName, FlowResult } from '../../domain/flows/deps.js';
import { renderPlan, Steps } from '../../domain/flows/steps.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';

export type BootFlowOptions = FlowEdgeOptions;

type Flow = (deps: FlowDeps, steps: Steps) => Promise<FlowResult>;

/**
 * Each flow's modules load when it runs: a worker's join never evaluates the control plane's
 * (addons, IRSA, ip-num's CIDR maths), which would cost it CPU at every boot.
 */
const FLOWS: Record<FlowName, () => Promise<Flow>> = {
  boot: async () => (await import('../../domain/flows/boot.js')).boot,
  'bootstrap-master': async () => (await import('../../domain/flows/bootstrap-master.js')).bootstrapMaster,
  'join-master': async () => (await import('../../domain/flows/join-master.js')).joinMaster,
  'join-node': async () => (await import('../../domain/flows/join-node.js')).joinNode,
};

function flowHandler(flow: FlowName) {
  return async (options: BootFlowOptions, ctx: CommandContext): Promise<void> => {
    const loaded = await loadNodeConfig(ctx, options.config);
    const settings = flowSettings(options, loaded.config, ctx.env);
    const { deps, close } = wireFlowDeps(ctx, flow, loaded, settings);
    const steps = new Steps(deps.logger, ctx.clock, settings.dryRun);
    let result: FlowResult;
    try {
      const run = await FLOWS[flow]();
      result = await run(deps, steps);
    } finally {
      close();
    }
    if (ctx.output.format === 'json') {
      ctx.output.json({
        ...result,
        ...(settings.dryRun ? { plan: steps.planned } : {}),
        steps: steps.timings,
      });
    } else if (settings.dryRun) {
      ctx.output.text(renderPlan(flow, steps.planned));
    } else {
      ctx.output.text(result.summary);
    }
  };
}

export const bootCommand = flowHandler('boot');
export const bootstrapMasterCommand = flowHandler('bootstrap-master');
export const joinMasterCommand = flowHandler('join-master');
export const joinNodeCommand = flowHandler('join-node');
