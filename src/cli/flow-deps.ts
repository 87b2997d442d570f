/**
 * The AWS adapters are imported inside the ports that use them: each brings an SDK client whose
 * code costs tens of milliseconds to load, and a worker's join needs only DynamoDB and Secrets
 * Manager (discovery, S3 and EC2 are for the first master or a fallback).
 *
 * The edge every flow on an instance shares (boot flows, rotate): the node config read under the
 * root, settings resolved from flags > environment > config file > defaults, and the real
 * adapters (IMDS, DynamoDB, Secrets Manager, S3, execa, the filesystem root) wired into FlowDeps.
 */

import { FsRoot } from '../adapters/fs/root.js';
import { kubeadmRunner } from '../adapters/process/kubeadm.js';
import { kubectlRunner } from '../adapters/process/kubectl.js';
import { parseDurationMs } from '../core/duration.js';
import { DEFAULT_CONFIG_PATH, NODE_CONFIG_TIMEOUT_DEFAULTS } from '../domain/config/defaults.js';
import { boundsOf, type DurationField, durationLimits, envMs } from '../domain/config/durations.js';
import { type NodeConfig, parseNodeConfig } from '../domain/config/node-config.js';
import type { FlowDeps, FlowSettings } from '../domain/flows/deps.js';
import { privateDnsName } from '../domain/ports/imds-readers.js';
import { DEFAULT_LEASE_MS } from '../domain/state/lease.js';
import { wireCleanup } from './cleanup-wiring.js';
import type { CommandContext } from './context.js';
import { COMMAND_DEFAULTS } from './defaults.js';
import { type InstanceServices, instanceServices } from './instance.js';

export interface FlowEdgeOptions {
  waitTimeout?: string;
  config?: string;
  dryRun?: boolean;
}

export interface LoadedNodeConfig {
  fs: FsRoot;
  config: NodeConfig;
}

/** The filesystem root and the node config (empty when the file does not exist). */
export async function loadNodeConfig(ctx: CommandContext, configPath?: string): Promise<LoadedNodeConfig> {
  const fs = new FsRoot(ctx.root);
  const path = configPath ?? DEFAULT_CONFIG_PATH;
  const text = await fs.readText(path);
  return { fs, config: text === undefined ? {} : parseNodeConfig(text, path, durationLimits(ctx.env)) };
}

export function flowSettings(
  options: FlowEdgeOptions,
  config: NodeConfig,
  env: NodeJS.ProcessEnv,
): FlowSettings {
  const limits = durationLimits(env);
  const duration = (
    flag: string | undefined,
    fromConfig: string | undefined,
    fallback: string,
    what: DurationField,
  ) => parseDurationMs(flag ?? fromConfig ?? fallback, what, boundsOf(what, limits));
  return {
    dryRun: options.dryRun === true,
    waitTimeoutMs: duration(
      options.waitTimeout,
      config.timeouts?.waitForInit,
      COMMAND_DEFAULTS.boot.waitTimeout,
      options.waitTimeout === undefined ? 'timeouts.waitForInit' : '--wait-timeout',
    ),
    leaseMs: duration(undefined, config.timeouts?.lease, `${DEFAULT_LEASE_MS}ms`, 'timeouts.lease'),
    kubeadmTimeoutMs: duration(
      undefined,
      config.timeouts?.kubeadm,
      NODE_CONFIG_TIMEOUT_DEFAULTS.kubeadm,
      'timeouts.kubeadm',
    ),
    addonTimeoutMs: duration(
      undefined,
      config.timeouts?.addons,
      NODE_CONFIG_TIMEOUT_DEFAULTS.addons,
      'timeouts.addons',
    ),
    tokenTtlMs: parseDurationMs(COMMAND_DEFAULTS.rotate.tokenTtl),
    minMaterialLifeMs: parseDurationMs('2m'),
    pollMs: envMs(env, 'KBOOT_POLL_MS') ?? 3000,
  };
}

export interface WiredFlowDeps {
  deps: FlowDeps;
  /** IMDS and the AWS clients behind `deps`, for commands that need more ports (leave). */
  services: InstanceServices;
  /** Releases the AWS clients; call when the flow is done. */
  close(): void;
}

/** The real ports of a flow named `flow` (the logger's `flow` field). */
export function wireFlowDeps(
  ctx: CommandContext,
  flow: string,
  loaded: LoadedNodeConfig,
  settings: FlowSettings,
): WiredFlowDeps {
  const { fs, config } = loaded;
  const services = instanceServices({ ...ctx, table: ctx.table ?? config.table });
  const logger = ctx.logger.child({ flow });
  const kubectl = kubectlRunner({ command: ctx.env.KBOOT_KUBECTL ?? 'kubectl', logger, env: ctx.env });
  const deps: WiredFlowDeps['deps'] = {
    logger,
    clock: ctx.clock,
    fs,
    config,
    settings,
    identity: () => services.identity(),
    privateDnsName: () => privateDnsName(services.imds),
    state: async () => {
      const [{ DynamoDbClusterStore }, { DynamoDbMemberCertificates }] = await Promise.all([
        import('../adapters/aws/dynamodb-cluster-store.js'),
        import('../adapters/aws/dynamodb-member-certificates.js'),
      ]);
      const aws = await services.aws();
      const dynamodb = await aws.dynamodb();
      const tableName = await services.table();
      const store = new DynamoDbClusterStore({ dynamodb, tableName, clock: ctx.clock });
      return {
        records: store,
        memberCertificates: new DynamoDbMemberCertificates({ dynamodb, tableName }),
        clusterState: store,
        lock: (cluster, name) => store.leaseLock(cluster, name),
      };
    },
    joinMaterial: async () => {
      const { SecretsJoinMaterialStore } = await import('../adapters/aws/secrets-join-material.js');
      return new SecretsJoinMaterialStore({ clients: await services.aws(), logger, signal: ctx.signal });
    },
    pkiSecrets: async () => {
      const { SecretsPkiStore } = await import('../adapters/aws/secrets-pki.js');
      return new SecretsPkiStore({ clients: await services.aws(), logger, signal: ctx.signal });
    },
    oidcPublisher: async () => {
      const { S3OidcPublisher } = await import('../adapters/aws/s3-oidc.js');
      return new S3OidcPublisher({ clients: await services.aws(), logger, signal: ctx.signal });
    },
    discoverApiEndpoint: async (cluster) => {
      const { findClusterLoadBalancer } = await import('../adapters/aws/elbv2-api-endpoint.js');
      const lb = await findClusterLoadBalancer(await (await services.aws()).elbv2(), cluster);
      return lb?.dnsName;
    },
    kubeadm: kubeadmRunner({
      command: ctx.env.KBOOT_KUBEADM ?? 'kubeadm',
      logger,
      env: ctx.env,
      set: { KBOOT_ROOT: ctx.root },
      defaultTimeoutMs: settings.kubeadmTimeoutMs,
    }),
    kubectl,
    cleanup: wireCleanup(ctx, services, fs, logger, kubectl),
    recoveryPorts: async () => {
      const { wireRecovery } = await import('./recovery-wiring.js');
      return wireRecovery(ctx, services, config);
    },
  };
  return { deps, services, close: () => services.close() };
}
