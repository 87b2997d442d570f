/**
 * The real ports of the etcd snapshot flow (flows/etcd-snapshot.ts), shared by `kboot etcd
 * snapshot` and by `kboot leave` on a control-plane member (a snapshot before its etcd member
 * goes): etcd's gRPC Maintenance service on this member with the control plane's client
 * certificate (KBOOT_ETCD_ENDPOINTS overrides where), S3 through lib-storage's multipart Upload,
 * the records in DynamoDB. Everything heavy (grpc-js, the AWS clients) loads only when a
 * snapshot streams.
 */

import { snapshotOptions } from '../domain/backup/settings.js';
import type { SnapshotDeps, SnapshotResult } from '../domain/flows/etcd-snapshot.js';
import { parseEtcdEndpoints } from './cleanup-wiring.js';
import type { CommandContext } from './context.js';
import type { LoadedNodeConfig, WiredFlowDeps } from './flow-deps.js';
import { runSettings, UNDO_BUDGET_MS } from './run-flow.js';

/** etcd's status call, and the longest wait for the next chunk of the stream. */
const ETCD_IDLE_TIMEOUT_MS = 10_000;

export function snapshotDeps(
  ctx: CommandContext,
  loaded: LoadedNodeConfig,
  wired: Pick<WiredFlowDeps, 'deps' | 'services'>,
): SnapshotDeps {
  const { deps: flowDeps, services } = wired;
  const endpointsOverride = parseEtcdEndpoints(ctx.env.KBOOT_ETCD_ENDPOINTS);
  return {
    logger: flowDeps.logger,
    clock: ctx.clock,
    fs: loaded.fs,
    pollMs: flowDeps.settings.pollMs,
    identity: flowDeps.identity,
    state: flowDeps.state,
    snapshots: async (bucket, cluster, signal) => {
      // grpc-js loads here, only when a snapshot streams (never for --version or a join).
      const [{ GrpcSnapshotSource }, { readEtcdTls }, { LOCAL_ETCD_ENDPOINT }] = await Promise.all([
        import('../adapters/etcd/grpc-snapshot.js'),
        import('../adapters/etcd/gateway.js'),
        import('../adapters/etcd/membership.js'),
      ]);
      const [{ S3SnapshotObjects }, { DynamoDbSnapshotRecords }] = await Promise.all([
        import('../adapters/aws/s3-snapshots.js'),
        import('../adapters/aws/dynamodb-snapshots.js'),
      ]);
      const aws = await services.aws();
      const record = await (await flowDeps.state()).records.readRecord(cluster, signal);
      return {
        source: new GrpcSnapshotSource({
          endpoints: endpointsOverride ?? [LOCAL_ETCD_ENDPOINT],
          tls: await readEtcdTls(loaded.fs),
          logger: flowDeps.logger,
          idleTimeoutMs: ETCD_IDLE_TIMEOUT_MS,
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
}

/**
 * A forced snapshot by the same flow as `kboot etcd snapshot --force` (its lease, record and
 * retention), stopped with `signal`; `no-bucket` when backup is not configured.
 */
export async function forcedSnapshot(
  ctx: CommandContext,
  loaded: LoadedNodeConfig,
  wired: Pick<WiredFlowDeps, 'deps' | 'services'>,
  signal: AbortSignal,
): Promise<SnapshotResult> {
  const leaseConfigured = loaded.config.timeouts?.lease !== undefined;
  const options = snapshotOptions(loaded.config.backup, {
    force: true,
    ...(leaseConfigured ? { leaseMs: wired.deps.settings.leaseMs } : {}),
  });
  // Its own flow name in the log: its steps and its stop are told apart from the caller's.
  const deps = { ...snapshotDeps(ctx, loaded, wired), logger: ctx.logger.child({ flow: 'etcd-snapshot' }) };
  const [{ runFlow }, { etcdSnapshotFlow }] = await Promise.all([
    import('../domain/steps/runner.js'),
    import('../domain/flows/etcd-snapshot.js'),
  ]);
  const settings = runSettings({ ...ctx, logger: deps.logger, signal }, false, UNDO_BUDGET_MS.snapshot);
  return (await runFlow(etcdSnapshotFlow, deps, settings, { options })).result;
}
