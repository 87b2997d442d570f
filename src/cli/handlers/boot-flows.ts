/**
 * The edge of the boot flows: options and the node config resolved into settings (flags >
 * environment > config file > tags > discovery > defaults), the real adapters wired into the
 * flows' ports (flow-deps.ts), the result printed.
 */

import { boot } from '../../domain/flows/boot.js';
import { bootstrapMaster } from '../../domain/flows/bootstrap-master.js';
import type { FlowResult } from '../../domain/flows/deps.js';
import { joinMaster } from '../../domain/flows/join-master.js';
import { joinNode } from '../../domain/flows/join-node.js';
import { renderPlan, Steps } from '../../domain/flows/steps.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';

export type BootFlowOptions = FlowEdgeOptions;

const FLOWS = {
  boot,
  'bootstrap-master': bootstrapMaster,
  'join-master': joinMaster,
  'join-node': joinNode,
} as const;

function flowHandler(flow: keyof typeof FLOWS) {
  return async (options: BootFlowOptions, ctx: CommandContext): Promise<void> => {
    const loaded = await loadNodeConfig(ctx, options.config);
    const settings = flowSettings(options, loaded.config, ctx.env);
    const { deps, close } = wireFlowDeps(ctx, flow, loaded, settings);
    const steps = new Steps(deps.logger, ctx.clock, settings.dryRun);
    let result: FlowResult;
    try {
      result = await FLOWS[flow](deps, steps);
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
