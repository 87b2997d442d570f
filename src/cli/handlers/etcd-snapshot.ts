/**
 * The edge of `kboot etcd snapshot`: the node config's `backup` section (or --bucket), the real
 * ports (etcd's JSON gateway on this member with the control plane's client certificate, S3
 * through lib-storage's multipart Upload, the records in DynamoDB), the result printed.
 * KBOOT_ETCD_ENDPOINTS (comma-separated https URLs) overrides where etcd is reached.
 */

import { UsageError } from '../../core/errors.js';
import { snapshotOptions } from '../../domain/backup/settings.js';
import type { SnapshotDeps } from '../../domain/flows/etcd-snapshot.js';
import { parseEtcdEndpoints } from '../cleanup-wiring.js';
import type { CommandContext } from '../context.js';
import { flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export interface EtcdSnapshotCommandOptions {
  bucket?: string;
  force?: boolean;
  config?: string;
  dryRun?: boolean;
}

/** One HTTPS request to etcd (and the longest pause between two chunks of the stream). */
const ETCD_ATTEMPT_TIMEOUT_MS = 10_000;

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
  const endpointsOverride = parseEtcdEndpoints(ctx.env.KBOOT_ETCD_ENDPOINTS);
  const wired = wireFlowDeps(ctx, 'etcd-snapshot', loaded, settings);
  const { deps: flowDeps, services } = wired;
  const deps: SnapshotDeps = {
    logger: flowDeps.logger,
    clock: ctx.clock,
    fs: flowDeps.fs,
    pollMs: settings.pollMs,
    identity: flowDeps.identity,
    state: flowDeps.state,
    snapshots: async (bucket, cluster, signal) => {
      const [{ GatewaySnapshotSource }, { readEtcdTls }, { LOCAL_ETCD_ENDPOINT }, { DEFAULT_BACKOFF }] =
        await Promise.all([
          import('../../adapters/etcd/snapshot.js'),
          import('../../adapters/etcd/gateway.js'),
          import('../../adapters/etcd/membership.js'),
          import('../../adapters/imds/backoff.js'),
        ]);
      const [{ S3SnapshotObjects }, { DynamoDbSnapshotRecords }] = await Promise.all([
        import('../../adapters/aws/s3-snapshots.js'),
        import('../../adapters/aws/dynamodb-snapshots.js'),
      ]);
      const aws = await services.aws();
      const record = await (await flowDeps.state()).records.readRecord(cluster, signal);
      return {
        source: new GatewaySnapshotSource({
          endpoints: endpointsOverride ?? [LOCAL_ETCD_ENDPOINT],
          tls: await readEtcdTls(flowDeps.fs),
          logger: flowDeps.logger,
          attemptTimeoutMs: ETCD_ATTEMPT_TIMEOUT_MS,
          rounds: 3,
          backoff: DEFAULT_BACKOFF,
          sleepMs: (ms, abort) => ctx.clock.sleepMs(ms, abort),
        }),
        objects: new S3SnapshotObjects({
          s3: await aws.s3ForSnapshots(),
          bucket,
          ...(record?.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId }),
        }),
        records: new DynamoDbSnapshotRecords({
          dynamodb: await aws.dynamodb(),
          tableName: await services.table(),
          clock: ctx.clock,
        }),
      };
    },
  };
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
