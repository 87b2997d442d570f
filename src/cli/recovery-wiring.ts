/**
 * The real ports of the recovery of a lost control plane (src/domain/flows/recover-control-plane.ts),
 * made when `kboot boot` finds the cluster initialized: the TLS probe, the backup bucket's
 * snapshots (records in DynamoDB, objects in S3, the local restore tool), and the fenced write
 * that records the restore.
 */

import type { NodeConfig } from '../domain/config/node-config.js';
import type { RecoveryWiring } from '../domain/flows/recover/state.js';
import type { CommandContext } from './context.js';
import type { InstanceServices } from './instance.js';

export async function wireRecovery(
  ctx: CommandContext,
  services: InstanceServices,
  config: NodeConfig,
): Promise<RecoveryWiring> {
  const [
    { tlsProbe },
    { markRestored },
    { DynamoDbSnapshotRecords },
    { S3SnapshotObjects },
    { localRestore },
  ] = await Promise.all([
    import('../adapters/etcd/tls-probe.js'),
    import('../adapters/aws/dynamodb-mark-restored.js'),
    import('../adapters/aws/dynamodb-snapshots.js'),
    import('../adapters/aws/s3-snapshots.js'),
    import('../adapters/process/etcd-restore.js'),
  ]);
  const aws = await services.aws();
  const table = { dynamodb: await aws.dynamodb(), tableName: await services.table(), clock: ctx.clock };
  return {
    probe: tlsProbe,
    async backup() {
      const bucket = config.backup?.bucket;
      if (bucket === undefined) return undefined;
      return {
        records: new DynamoDbSnapshotRecords(table),
        objects: new S3SnapshotObjects({ s3: await aws.s3ForSnapshots(), bucket }),
        local: localRestore(ctx.env),
      };
    },
    markRestored: (lease, previousFence, stamp, signal) =>
      markRestored(table, lease, previousFence, stamp, signal),
  };
}
