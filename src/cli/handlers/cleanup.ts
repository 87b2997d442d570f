/**
 * The edge of `kboot cleanup` (operators, on a control-plane member): remove the etcd members and
 * delete the Node objects of instances that are terminated or gone, with the same rules as the
 * cleanup in `kboot rotate` and before a control-plane join (domain/cleanup). Prints the report
 * (a line, or --output json); quorum lost → exit 8 with what to do.
 */

import { IncompatibleError } from '../../core/errors.js';
import { runCleanup } from '../../domain/cleanup/flow.js';
import { requireQuorum } from '../../domain/cleanup/run.js';
import { readMembership } from '../../domain/flows/membership.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';

export type CleanupCommandOptions = Pick<FlowEdgeOptions, 'config' | 'dryRun'>;

export async function cleanupCommand(options: CleanupCommandOptions, ctx: CommandContext): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings(options, loaded.config, ctx.env);
  const { deps, close } = wireFlowDeps(ctx, 'cleanup', loaded, settings);
  try {
    const identity = await deps.identity();
    if (identity.role !== 'control-plane') {
      throw new IncompatibleError(
        `this instance is tagged ${identity.role}, so it cannot run 'kboot cleanup'`,
        {
          hint: "run 'kboot cleanup' on a control-plane member (it uses etcd's client certificate and admin.conf)",
        },
      );
    }
    const cluster = identity.clusterName;
    const membership = await readMembership(deps.fs, cluster);
    if (membership.state !== 'member') {
      throw new IncompatibleError(`this instance has not joined cluster ${cluster}, so it cannot clean up`, {
        hint: "run 'kboot cleanup' on a control-plane member that has joined",
      });
    }
    const report = await runCleanup(deps, cluster, { dryRun: settings.dryRun, nodes: true });
    if (ctx.output.format === 'json') ctx.output.json(report);
    else if (report.outcome !== 'quorum-lost') ctx.output.text(report.summary);
    requireQuorum(report);
  } finally {
    close();
  }
}
