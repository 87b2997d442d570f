/**
 * The edge of `kboot etcd snapshot`: the node config's `backup` section (or --bucket), the real
 * ports (cli/snapshot-wiring.ts), the result printed.
 */

import { UsageError } from '../../core/errors.js';
import { snapshotOptions } from '../../domain/backup/settings.js';
import type { CommandContext } from '../context.js';
import { flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';
import { snapshotDeps } from '../snapshot-wiring.js';

export interface EtcdSnapshotCommandOptions {
  bucket?: string;
  force?: boolean;
  config?: string;
  dryRun?: boolean;
}

export async function etcdSnapshotCommand(
  options: EtcdSnapshotCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings({ dryRun: options.dryRun === true }, loaded.config, ctx.env);
  const leaseConfigured = loaded.config.timeouts?.lease !== undefined;
  if (options.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
    throw new UsageError(`--bucket ${options.bucket} is not an S3 bucket name`, {
      hint: '3-63 lowercase letters, digits, dots and hyphens',
    });
  }
  const snapshot = snapshotOptions(loaded.config.backup, {
    ...(options.bucket === undefined ? {} : { bucket: options.bucket }),
    force: options.force === true,
    ...(leaseConfigured ? { leaseMs: settings.leaseMs } : {}),
  });
  const wired = wireFlowDeps(ctx, 'etcd-snapshot', loaded, settings);
  const deps = snapshotDeps(ctx, loaded, wired);
  try {
    const [{ runFlow }, { etcdSnapshotFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/etcd-snapshot.js'),
    ]);
    await runFlowCommand(
      ctx,
      { flow: 'etcd snapshot', dryRun: settings.dryRun, summaryWhenNothingPlanned: true },
      () =>
        runFlow(
          etcdSnapshotFlow,
          deps,
          runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.snapshot),
          {
            options: snapshot,
          },
        ),
    );
  } finally {
    wired.close();
  }
}
