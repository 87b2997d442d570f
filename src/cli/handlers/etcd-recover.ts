/**
 * The edge of `kboot etcd recover`: the real ports (etcd's JSON gateway on this member with the
 * control plane's client certificate, or KBOOT_ETCD_ENDPOINTS; the member records in DynamoDB;
 * kubeadm's manifest under the filesystem root), the result printed.
 */

import type { RecoverDeps } from '../../domain/flows/etcd-recover.js';
import { parseEtcdEndpoints } from '../cleanup-wiring.js';
import type { CommandContext } from '../context.js';
import { flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export interface EtcdRecoverCommandOptions {
  config?: string;
  dryRun?: boolean;
}

/** How long etcd may take to come back after each manifest change (the kubelet checks every 20 s). */
const ETCD_RESTART_TIMEOUT_MS = 3 * 60_000;

export async function etcdRecoverCommand(
  options: EtcdRecoverCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings({ dryRun: options.dryRun === true }, loaded.config, ctx.env);
  const endpointsOverride = parseEtcdEndpoints(ctx.env.KBOOT_ETCD_ENDPOINTS);
  const wired = wireFlowDeps(ctx, 'etcd-recover', loaded, settings);
  const { deps: flowDeps, services } = wired;
  const deps: RecoverDeps = {
    logger: flowDeps.logger,
    clock: ctx.clock,
    fs: loaded.fs,
    pollMs: settings.pollMs,
    waitTimeoutMs: ETCD_RESTART_TIMEOUT_MS,
    identity: flowDeps.identity,
    etcd: async () => {
      const { HttpEtcdMembership, LOCAL_ETCD_ENDPOINT } = await import('../../adapters/etcd/membership.js');
      const etcd = await HttpEtcdMembership.create({
        fs: loaded.fs,
        logger: flowDeps.logger.child({ component: 'etcd' }),
        // The local member only: the others are what is being checked.
        endpoints: (endpointsOverride ?? [LOCAL_ETCD_ENDPOINT]).slice(0, 1),
        sleepMs: (ms, signal) => ctx.clock.sleepMs(ms, signal),
        rounds: 1,
      });
      return {
        list: (signal) => etcd.list(signal),
        status: (signal) => etcd.localStatus(signal),
        probe: (member, signal) => etcd.probe(member, signal),
      };
    },
    members: async () => {
      const { DynamoDbClusterStore } = await import('../../adapters/aws/dynamodb-cluster-store.js');
      const store = new DynamoDbClusterStore({
        dynamodb: await (await services.aws()).dynamodb(),
        tableName: await services.table(),
        clock: ctx.clock,
      });
      return {
        list: async (cluster, signal) => (await store.readClusterState(cluster, signal))?.members ?? [],
        remove: (cluster, instanceId, signal) => store.removeMember(cluster, instanceId, signal),
      };
    },
  };
  try {
    const [{ runFlow }, { etcdRecoverFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/etcd-recover.js'),
    ]);
    await runFlowCommand(ctx, { flow: 'etcd recover', dryRun: settings.dryRun }, () =>
      runFlow(
        etcdRecoverFlow,
        deps,
        runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.recover),
        {},
      ),
    );
  } finally {
    wired.close();
  }
}
