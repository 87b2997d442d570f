/**
 * The edge of `kboot approve-csrs` (control-plane members, from kboot-approve-csrs.timer every
 * 30 seconds): approves the pending kubelet client and serving certificate requests of this
 * cluster's own instances (src/domain/flows/approve-csrs.ts). Prints a line, the plan (--dry-run) or
 * --output json with what was approved and what was left pending, and why.
 */

import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export type ApproveCsrsCommandOptions = Pick<FlowEdgeOptions, 'config' | 'dryRun'>;

export async function approveCsrsCommand(
  options: ApproveCsrsCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings(options, loaded.config, ctx.env);
  const { deps, close } = wireFlowDeps(ctx, 'approve-csrs', loaded, settings);
  try {
    const [{ runFlow }, { approveCsrsFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/approve-csrs.js'),
    ]);
    await runFlowCommand(ctx, { flow: 'approve-csrs', dryRun: settings.dryRun }, () =>
      runFlow(
        approveCsrsFlow,
        deps,
        runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.approveCsrs),
      ),
    );
  } finally {
    close();
  }
}
