/**
 * The edge of `kboot etcd restore`: the cluster (--cluster, else this instance's), the bucket
 * (--bucket, else backup.bucket in the node config), the real ports (DynamoDB records, S3, the
 * local restore tool), the result printed. The data directory is a path on this machine (not
 * under --root): the operator names it.
 */

import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';
import { loadNodeConfig } from '../flow-deps.js';
import { instanceServices } from '../instance.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export interface EtcdRestoreCommandOptions {
  from: string;
  dataDir: string;
  yes?: boolean;
  bucket?: string;
  cluster?: string;
  name?: string;
  peerUrl?: string;
  config?: string;
  dryRun?: boolean;
}

const KEY = /^[a-z0-9][a-z0-9-]*\/etcd\/[^/]+\.db$/;

export async function etcdRestoreCommand(
  options: EtcdRestoreCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  if (options.from !== 'latest' && !KEY.test(options.from)) {
    throw new UsageError(`--from ${options.from} is neither latest nor a snapshot key`, {
      hint: 'give latest, or a key like prod/etcd/2026-01-01T00:00:00.000Z-rev42.db (kboot status shows the newest)',
    });
  }
  let peerUrl: URL;
  try {
    peerUrl = new URL(options.peerUrl ?? 'http://localhost:2380');
  } catch (error) {
    throw new UsageError(`--peer-url ${options.peerUrl} is not a URL`, {
      cause: error,
      hint: 'e.g. https://10.0.1.10:2380',
    });
  }
  const loaded = await loadNodeConfig(ctx, options.config);
  const bucket = options.bucket ?? loaded.config.backup?.bucket;
  if (bucket === undefined) {
    throw new UsageError('no backup bucket: pass --bucket or set backup.bucket in the node config');
  }
  const services = instanceServices({ ...ctx, table: ctx.table ?? loaded.config.table });
  try {
    const cluster = options.cluster ?? (await services.identity()).clusterName;
    const aws = await services.aws();
    const [
      { S3SnapshotObjects },
      { DynamoDbSnapshotRecords },
      { localRestore },
      { runFlow },
      { etcdRestoreFlow },
    ] = await Promise.all([
      import('../../adapters/aws/s3-snapshots.js'),
      import('../../adapters/aws/dynamodb-snapshots.js'),
      import('../../adapters/process/etcd-restore.js'),
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/etcd-restore.js'),
    ]);
    const logger = ctx.logger.child({ flow: 'etcd-restore' });
    const deps = {
      logger,
      records: new DynamoDbSnapshotRecords({
        dynamodb: await aws.dynamodb(),
        tableName: await services.table(),
        clock: ctx.clock,
      }),
      objects: new S3SnapshotObjects({ s3: await aws.s3ForSnapshots(), bucket }),
      local: localRestore(ctx.env),
    };
    const dryRun = options.dryRun === true;
    await runFlowCommand(ctx, { flow: 'etcd restore', dryRun }, () =>
      runFlow(etcdRestoreFlow, deps, runSettings({ ...ctx, logger }, dryRun, UNDO_BUDGET_MS.snapshot), {
        options: {
          cluster,
          from: options.from,
          dataDir: path.resolve(options.dataDir),
          name: options.name ?? 'default',
          peerUrl: peerUrl.toString().replace(/\/$/, ''),
          yes: options.yes === true,
        },
      }),
    );
  } finally {
    services.close();
  }
}
