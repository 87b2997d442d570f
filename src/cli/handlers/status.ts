/**
 * `kboot status [--cluster NAME] [--output text|json]`: a cluster's state as stored in DynamoDB
 * (endpoint, version, CIDRs, initialization, lock holders, join material age, last failure,
 * members). With --cluster, that cluster (one Query); without it, every cluster in the table
 * (one Scan) — or, on an instance run with no region given, the instance's own cluster.
 *
 * Where: the region is --region / AWS_REGION; when neither is given, kboot asks IMDS (a short
 * budget, so a laptop is not kept waiting) and, on an instance, takes the instance's region,
 * cluster and `kboot.io/table` tag from its identity. The table is --table / KBOOT_TABLE, else
 * that tag, else "kboot".
 */

import { DynamoDbClusterStore } from '../../adapters/aws/dynamodb-cluster-store.js';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_TABLE } from '../../domain/iam/scope.js';
import type { Identity } from '../../domain/identity/resolve.js';
import { endOfLifeWarning } from '../../domain/kubeadm/versions.js';
import { stateError } from '../../domain/state/cluster-store.js';
import {
  type ClusterStatusView,
  clusterStatusView,
  renderClusterStatus,
} from '../../domain/state/status-view.js';
import type { CommandContext, OutputFormat } from '../context.js';
import { type InstanceServices, instanceServices } from '../instance.js';

/** IMDS budget for status: an operator's laptop has no IMDS, and must not wait 10 s to learn it. */
const STATUS_IMDS_TUNING = { maxAttempts: 2, requestTimeoutMs: 500, deadlineMs: 1500 } as const;

export interface StatusOptions {
  cluster?: string;
  output?: OutputFormat;
}

type InstanceLookup = { identity: Identity } | { identity: undefined; reason: string };

/** This instance's identity (region, cluster, table tag), or why there is none (not on EC2). */
async function identityOfThisInstance(
  ctx: CommandContext,
  services: InstanceServices,
): Promise<InstanceLookup> {
  try {
    return { identity: await services.identity() };
  } catch (error) {
    ctx.signal.throwIfAborted();
    ctx.logger.debug({ err: error }, 'no instance identity; status needs --region');
    return { identity: undefined, reason: error instanceof Error ? error.message : String(error) };
  }
}

export async function status(options: StatusOptions, ctx: CommandContext): Promise<void> {
  const services = instanceServices(ctx, STATUS_IMDS_TUNING);
  try {
    let region = ctx.region === '' ? undefined : ctx.region;
    let instance: Identity | undefined;
    if (region === undefined) {
      const lookup = await identityOfThisInstance(ctx, services);
      if (lookup.identity === undefined) {
        throw new UsageError(
          `no AWS region given for \`kboot status\`, and this is not an instance kboot can identify (${lookup.reason})`,
          { hint: 'pass --region <region> or set AWS_REGION' },
        );
      }
      instance = lookup.identity;
      region = instance.instance.region;
    }
    const table = ctx.table ?? instance?.tableFromTag ?? DEFAULT_TABLE;
    const store = new DynamoDbClusterStore({
      dynamodb: await services.awsIn(region).dynamodb(),
      tableName: table,
      clock: ctx.clock,
    });
    const cluster = options.cluster ?? instance?.clusterName;
    const nowMs = ctx.clock.nowMs();
    if (cluster !== undefined) {
      const state = await store.readClusterState(cluster, ctx.signal);
      if (state === undefined) {
        throw new UsageError(`no cluster named "${cluster}" in DynamoDB table ${table} (region ${region})`, {
          hint: 'run `kboot status` without --cluster to list the clusters, or check --table and --region',
        });
      }
      const view = clusterStatusView(state, table, nowMs);
      if (ctx.output.format === 'json') ctx.output.json(view);
      else ctx.output.text(renderClusterStatus(view, nowMs));
      warnEndOfLife([view], ctx, nowMs);
      warnStaleSnapshots([view], ctx);
      // The one cluster asked for: what could be read is shown, then an unreadable item fails.
      const error = stateError(state);
      if (error !== undefined) throw error;
      return;
    }
    const states = await store.listClusterStates(ctx.signal);
    const views: ClusterStatusView[] = states.map((state) => clusterStatusView(state, table, nowMs));
    if (ctx.output.format === 'json') {
      ctx.output.json({ table, region, clusters: views });
    } else if (views.length === 0) {
      ctx.output.text(`no clusters in DynamoDB table ${table} (region ${region})`);
    } else {
      ctx.output.text(views.map((view) => renderClusterStatus(view, nowMs)).join('\n\n'));
    }
    warnEndOfLife(views, ctx, nowMs);
    warnStaleSnapshots(views, ctx);
    // The listing succeeds: an unreadable cluster is shown with its error beside the others
    // (and warned about), so one bad item does not hide every other cluster.
    for (const state of states) {
      const error = stateError(state);
      if (error !== undefined)
        ctx.logger.warn({ err: error, cluster: state.cluster }, 'a cluster is unreadable');
    }
  } finally {
    services.close();
  }
}

/** A warning (stderr) for each cluster whose newest etcd snapshot is older than 3 timer intervals. */
function warnStaleSnapshots(views: readonly ClusterStatusView[], ctx: CommandContext): void {
  for (const view of views) {
    const snapshots = view.etcdSnapshots;
    if (snapshots.state !== 'stale') continue;
    ctx.logger.warn(
      { cluster: view.cluster, key: snapshots.latest.key, takenAt: snapshots.latest.takenAt },
      `the newest etcd snapshot of cluster ${view.cluster} is older than 3 timer intervals: check kboot-etcd-snapshot.service on its control-plane members (journalctl -u kboot-etcd-snapshot)`,
    );
  }
}

/** A warning (stderr) for each cluster whose Kubernetes minor is past its end of life. */
function warnEndOfLife(views: readonly ClusterStatusView[], ctx: CommandContext, nowMs: number): void {
  for (const view of views) {
    if (view.kubernetesVersion === null) continue;
    const warning = endOfLifeWarning(view.kubernetesVersion, nowMs);
    if (warning === undefined) continue;
    ctx.logger.warn(
      { cluster: view.cluster, kubernetesVersion: view.kubernetesVersion, endOfLife: warning.endOfLife },
      `cluster ${view.cluster}: ${warning.message}`,
    );
  }
}
