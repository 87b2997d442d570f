/**
 * The edge of the boot flows: options and the node config resolved into settings (flags >
 * environment > config file > tags > discovery > defaults), the real adapters wired into the
 * flows' ports, the result printed.
 */

import { DynamoDbClusterStore } from '../../adapters/aws/dynamodb-cluster-store.js';
import { SecretsJoinMaterialStore } from '../../adapters/aws/secrets-join-material.js';
import { FsRoot } from '../../adapters/fs/root.js';
import { privateDnsName } from '../../adapters/imds/readers.js';
import { kubeadmRunner } from '../../adapters/process/kubeadm.js';
import { parseDurationMs } from '../../core/duration.js';
import { DEFAULT_CONFIG_PATH, type NodeConfig, parseNodeConfig } from '../../domain/config/node-config.js';
import { boot } from '../../domain/flows/boot.js';
import { bootstrapMaster } from '../../domain/flows/bootstrap-master.js';
import type { FlowDeps, FlowResult, FlowSettings } from '../../domain/flows/deps.js';
import { joinMaster } from '../../domain/flows/join-master.js';
import { joinNode } from '../../domain/flows/join-node.js';
import { renderPlan, Steps } from '../../domain/flows/steps.js';
import { DEFAULT_LEASE_MS } from '../../domain/state/lease.js';
import type { CommandContext } from '../context.js';
import { instanceServices } from '../instance.js';

export interface BootFlowOptions {
  waitTimeout?: string;
  config?: string;
  dryRun?: boolean;
}

const FLOWS = {
  boot,
  'bootstrap-master': bootstrapMaster,
  'join-master': joinMaster,
  'join-node': joinNode,
} as const;

async function readConfig(fs: FsRoot, configPath: string): Promise<NodeConfig> {
  const text = await fs.readText(configPath);
  return text === undefined ? {} : parseNodeConfig(text, configPath);
}

function settingsFrom(options: BootFlowOptions, config: NodeConfig, env: NodeJS.ProcessEnv): FlowSettings {
  const duration = (
    flag: string | undefined,
    fromConfig: string | undefined,
    fallback: string,
    what: string,
  ) => parseDurationMs(flag ?? fromConfig ?? fallback, what);
  return {
    dryRun: options.dryRun === true,
    waitTimeoutMs: duration(options.waitTimeout, config.timeouts?.waitForInit, '30m', '--wait-timeout'),
    leaseMs: duration(undefined, config.timeouts?.lease, `${DEFAULT_LEASE_MS}ms`, 'timeouts.lease'),
    kubeadmTimeoutMs: duration(undefined, config.timeouts?.kubeadm, '15m', 'timeouts.kubeadm'),
    tokenTtlMs: parseDurationMs('24h'),
    minMaterialLifeMs: parseDurationMs('2m'),
    pollMs: env.KBOOT_POLL_MS === undefined ? 3000 : Number(env.KBOOT_POLL_MS),
  };
}

function flowHandler(flow: keyof typeof FLOWS) {
  return async (options: BootFlowOptions, ctx: CommandContext): Promise<void> => {
    const fs = new FsRoot(ctx.root);
    const config = await readConfig(fs, options.config ?? DEFAULT_CONFIG_PATH);
    const settings = settingsFrom(options, config, ctx.env);
    const services = instanceServices({ ...ctx, table: ctx.table ?? config.table });
    const logger = ctx.logger.child({ flow });
    const deps: FlowDeps = {
      logger,
      clock: ctx.clock,
      fs,
      signal: ctx.signal,
      config,
      settings,
      identity: () => services.identity(),
      privateDnsName: () => privateDnsName(services.imds),
      state: async () => {
        const aws = await services.aws();
        const store = new DynamoDbClusterStore({
          dynamodb: await aws.dynamodb(),
          tableName: await services.table(),
          clock: ctx.clock,
        });
        return { records: store, lock: (cluster, name) => store.leaseLock(cluster, name) };
      },
      joinMaterial: async () => {
        return new SecretsJoinMaterialStore({ clients: await services.aws(), logger, signal: ctx.signal });
      },
      kubeadm: kubeadmRunner({
        command: ctx.env.KBOOT_KUBEADM ?? 'kubeadm',
        logger,
        env: { ...ctx.env, KBOOT_ROOT: ctx.root },
        defaultTimeoutMs: settings.kubeadmTimeoutMs,
      }),
    };
    const steps = new Steps(logger, ctx.clock, settings.dryRun);
    let result: FlowResult;
    try {
      result = await FLOWS[flow](deps, steps);
    } finally {
      services.close();
    }
    if (ctx.output.format === 'json') {
      ctx.output.json({
        ...result,
        ...(settings.dryRun ? { plan: steps.planned } : {}),
        steps: steps.timings,
      });
    } else if (settings.dryRun) {
      ctx.output.text(renderPlan(flow, steps.planned));
    } else {
      ctx.output.text(result.summary);
    }
  };
}

export const bootCommand = flowHandler('boot');
export const bootstrapMasterCommand = flowHandler('bootstrap-master');
export const joinMasterCommand = flowHandler('join-master');
export const joinNodeCommand = flowHandler('join-node');
