/**
 * The edge of `kboot cleanup` (operators, on a control-plane member): remove the etcd members and
 * delete the Node objects of instances that are terminated or gone, with the same rules as the
 * cleanup in `kboot rotate` and before a control-plane join (domain/cleanup). Prints the report
 * (a line, or --output json); quorum lost → exit 8 with what to do.
 */

import { parseDurationMs } from '../../core/duration.js';
import { IncompatibleError } from '../../core/errors.js';
import { cleanupCommandRun } from '../../domain/cleanup/flow.js';
import { requireQuorum } from '../../domain/cleanup/run.js';
import { readMembership } from '../../domain/flows/membership.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';

export type CleanupCommandOptions = Pick<FlowEdgeOptions, 'config' | 'dryRun' | 'waitTimeout'>;

/** How long to wait for a joining master to release the control-plane-join lease. */
const DEFAULT_WAIT = '5m';

export async function cleanupCommand(options: CleanupCommandOptions, ctx: CommandContext): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const waitMs = parseDurationMs(options.waitTimeout ?? DEFAULT_WAIT, '--wait-timeout');
  const settings = flowSettings({ ...options, waitTimeout: undefined }, loaded.config, ctx.env);
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
    const report = await cleanupCommandRun(deps, cluster, identity.instance.instanceId, {
      dryRun: settings.dryRun,
      waitMs,
    });
    if (ctx.output.format === 'json') ctx.output.json(report);
    else if (report.outcome !== 'quorum-lost') ctx.output.text(report.summary);
    requireQuorum(report);
  } finally {
    close();
  }
}
