/**
 * The edge of `kboot cleanup` (operators, on a control-plane member): remove the etcd members and
 * delete the Node objects of instances that are terminated or gone, with the same rules as the
 * cleanup in `kboot rotate` and before a control-plane join (domain/cleanup). Prints the report
 * (a line, or --output json); quorum lost → exit 8 with what to do.
 */

import { parseDurationMs } from '../../core/duration.js';
import { requireQuorum } from '../../domain/cleanup/run.js';
import { boundsOf } from '../../domain/config/durations.js';
import type { CommandContext } from '../context.js';
import { COMMAND_DEFAULTS } from '../defaults.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export type CleanupCommandOptions = Pick<FlowEdgeOptions, 'config' | 'dryRun' | 'waitTimeout'>;

export async function cleanupCommand(options: CleanupCommandOptions, ctx: CommandContext): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const waitMs = parseDurationMs(
    options.waitTimeout ?? COMMAND_DEFAULTS.cleanup.waitTimeout,
    '--wait-timeout',
    boundsOf('--wait-timeout'),
  );
  const settings = flowSettings({ ...options, waitTimeout: undefined }, loaded.config, ctx.env);
  const { deps, close } = wireFlowDeps(ctx, 'cleanup', loaded, settings);
  try {
    const [{ runFlow }, { cleanupFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/cleanup.js'),
    ]);
    const run = () =>
      runFlow(
        cleanupFlow,
        deps,
        runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.cleanup),
        { waitMs },
      );
    // Dry run or not, the output is the report (the plan is in it); quorum lost is exit 8.
    const { result } = await runFlowCommand(ctx, { flow: 'cleanup', dryRun: false }, run);
    requireQuorum(result);
  } finally {
    close();
  }
}
