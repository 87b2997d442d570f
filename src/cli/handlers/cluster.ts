/**
 * `kboot cluster plan|create|destroy --name NAME [-f SPEC] [--output json] [--dry-run] [--yes]`:
 * the spec is read and validated (every bad field named) before any AWS call; then the engine
 * (src/domain/cluster/engine.ts) plans, creates or destroys over the providers, with a step list
 * on stderr. Like `terraform destroy`, destroy asks for the cluster name on a terminal and needs
 * `--yes` (terraform's -auto-approve) anywhere else.
 */

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { AwsClients } from '../../adapters/aws/clients.js';
import { awsProviders } from '../../adapters/aws/cluster/registry.js';
import { DynamoDbResourceState } from '../../adapters/aws/cluster/state.js';
import { DynamoDbClusterStore } from '../../adapters/aws/dynamodb-cluster-store.js';
import { ConfigError, StateConflictError, UsageError } from '../../core/errors.js';
import { ClusterEngine } from '../../domain/cluster/engine.js';
import { undeleted } from '../../domain/cluster/engine-destroy.js';
import type { EngineHooks, Plan } from '../../domain/cluster/engine-types.js';
import { clusterGraph, resourceTags } from '../../domain/cluster/graph.js';
import { renderCreate, renderDestroy, renderPlan } from '../../domain/cluster/render.js';
import { type ClusterSpec, parseClusterSpec, SPEC_CLUSTER_NAME } from '../../domain/cluster/spec.js';
import { DEFAULT_TABLE } from '../../domain/iam/scope.js';
import { endOfLifeWarning } from '../../domain/kubeadm/versions.js';
import { renderUpgradeNote, type UpgradeNote, upgradeNote } from '../../domain/upgrade/plan-note.js';
import type { CommandContext } from '../context.js';
import { logProgress, terminalProgress } from '../progress.js';

const optionsSchema = z.object({
  name: z.string(),
  spec: z.string().min(1, { error: '--spec must not be empty' }).optional(),
  dryRun: z.boolean().optional(),
  yes: z.boolean().optional(),
  parallelism: z.coerce
    .number()
    .int({ error: '--parallelism must be a whole number from 1 to 20' })
    .min(1, { error: '--parallelism must be a whole number from 1 to 20' })
    .max(20, { error: '--parallelism must be a whole number from 1 to 20' })
    .optional(),
  /** --region only (AWS_REGION is the context's fallback). */
  region: z.string().optional(),
});

export type ClusterOptions = z.input<typeof optionsSchema>;
type Options = z.output<typeof optionsSchema>;

export function parseOptions(options: unknown, command: string): Options {
  const result = optionsSchema.safeParse(options);
  if (!result.success) {
    throw new UsageError(result.error.issues.map((issue) => issue.message).join('; '), {
      hint: `run 'kboot cluster ${command} --help'`,
    });
  }
  if (!SPEC_CLUSTER_NAME.test(result.data.name)) {
    throw new UsageError(
      `invalid --name "${result.data.name}": expected lowercase letters, digits and hyphens, at most 28 characters`,
      { hint: 'the name goes into AWS resource names (load balancers allow 32 characters)' },
    );
  }
  return result.data;
}

export async function readSpec(
  opts: Pick<Options, 'spec' | 'name' | 'region'>,
  ctx: CommandContext,
  command: string,
): Promise<ClusterSpec> {
  if (opts.spec === undefined) {
    throw new UsageError(`kboot cluster ${command} needs the cluster spec`, {
      hint: `pass -f SPEC.yaml (README "Creating a cluster: kboot cluster" describes it)`,
    });
  }
  let text: string;
  try {
    text = await readFile(opts.spec, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the cluster spec ${opts.spec}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check the path given with -f/--spec',
    });
  }
  return parseClusterSpec(text, opts.spec, {
    name: opts.name,
    region: opts.region,
    fallbackRegion: ctx.region,
    table: ctx.table,
  });
}

/** A test hook: KBOOT_TEST_KILL_AFTER_CREATES=N kills the process (SIGKILL) right after the Nth create call, before its record. */
function testHooks(env: NodeJS.ProcessEnv): EngineHooks {
  const after = Number(env.KBOOT_TEST_KILL_AFTER_CREATES);
  if (!Number.isInteger(after) || after <= 0) return {};
  return {
    afterCreate: (_key, count) => {
      if (count === after) process.kill(process.pid, 'SIGKILL');
    },
  };
}

interface Run {
  engine: ClusterEngine;
  clients: AwsClients;
}

function engineFor(
  ctx: CommandContext,
  opts: Options,
  cluster: string,
  region: string,
  table: string,
  tags: Record<string, string>,
  command: string,
): Run {
  const live = process.stderr.isTTY && ctx.output.format === 'text';
  // On a terminal the redrawn step list says what happens; info lines would break it.
  const logger = ctx.logger.child(
    { command: `cluster ${command}`, cluster },
    live && ctx.logger.isLevelEnabled('info') && !ctx.logger.isLevelEnabled('debug') ? { level: 'warn' } : {},
  );
  const clients = new AwsClients({ region, logger, env: ctx.env, traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS });
  const engine = new ClusterEngine({
    cluster,
    region,
    state: { tableName: table, ...lazyState(clients, table) },
    providers: awsProviders({ clients, logger, clock: ctx.clock }),
    progress: live ? terminalProgress(process.stderr) : logProgress(logger),
    logger,
    tagsFor: (key) => resourceTags({ name: cluster, tags }, key),
    signal: ctx.signal,
    ...(opts.parallelism === undefined ? {} : { concurrency: opts.parallelism }),
    hooks: testHooks(ctx.env),
  });
  return { engine, clients };
}

/** The state adapter, made when first used (the DynamoDB client loads lazily). */
function lazyState(clients: AwsClients, table: string): Omit<DynamoDbResourceState, 'tableName'> {
  let state: DynamoDbResourceState | undefined;
  const get = async () => {
    state ??= new DynamoDbResourceState({ dynamodb: await clients.dynamodb(), tableName: table });
    return state;
  };
  return {
    readResources: async (cluster, signal) => (await get()).readResources(cluster, signal),
    recordResource: async (cluster, record, signal) => (await get()).recordResource(cluster, record, signal),
    replaceResource: async (cluster, record, signal) =>
      (await get()).replaceResource(cluster, record, signal),
    forgetResource: async (cluster, key, signal) => (await get()).forgetResource(cluster, key, signal),
    clearCluster: async (cluster, signal) => (await get()).clearCluster(cluster, signal),
    holdsOtherItems: async (cluster, signal) => (await get()).holdsOtherItems(cluster, signal),
  };
}

function requireRegion(region: string | undefined): string {
  if (region === undefined || region === '') {
    throw new UsageError('no AWS region is set', {
      hint: 'pass --region, set AWS_REGION, or give region in the cluster spec',
    });
  }
  return region;
}

export async function clusterPlan(options: ClusterOptions, ctx: CommandContext): Promise<void> {
  const opts = parseOptions(options, 'plan');
  const spec = await readSpec(opts, ctx, 'plan');
  await planAndPrint(spec, opts, ctx, 'plan');
}

async function planAndPrint(
  spec: ClusterSpec,
  opts: Options,
  ctx: CommandContext,
  command: string,
): Promise<void> {
  const { engine, clients } = engineFor(ctx, opts, spec.name, spec.region, spec.table, spec.tags, command);
  const endOfLife = endOfLifeWarning(spec.kubernetesVersion, ctx.clock.nowMs());
  if (endOfLife !== undefined) {
    ctx.logger.warn(
      { cluster: spec.name, kubernetesVersion: spec.kubernetesVersion, endOfLife: endOfLife.endOfLife },
      `cluster ${spec.name}: ${endOfLife.message} (spec field kubernetesVersion)`,
    );
  }
  try {
    const plan = await engine.plan(clusterGraph(spec));
    const upgrade = command === 'plan' ? await upgradeNoteFor(spec, plan, clients, ctx) : undefined;
    if (ctx.output.format === 'json') ctx.output.json(upgrade === undefined ? plan : { ...plan, upgrade });
    else {
      ctx.output.text(renderPlan(plan, command === 'create' ? { dryRunOf: 'create' } : {}));
      if (upgrade !== undefined) ctx.output.text(renderUpgradeNote(upgrade, spec.name));
    }
  } finally {
    clients.destroy();
  }
}

/** The upgrade the spec asks of a recorded cluster (none before the record exists). */
async function upgradeNoteFor(
  spec: ClusterSpec,
  plan: Plan,
  clients: AwsClients,
  ctx: CommandContext,
): Promise<UpgradeNote | undefined> {
  const recorded = plan.entries.find((entry) => entry.kind === 'cluster-record');
  if (recorded === undefined || recorded.action === 'create') return undefined;
  const store = new DynamoDbClusterStore({ dynamodb: await clients.dynamodb(), tableName: spec.table });
  const record = await store.readRecord(spec.name, ctx.signal);
  return record === undefined ? undefined : upgradeNote(record, spec.kubernetesVersion, ctx.clock.nowMs());
}

export async function clusterCreate(options: ClusterOptions, ctx: CommandContext): Promise<void> {
  const opts = parseOptions(options, 'create');
  const spec = await readSpec(opts, ctx, 'create');
  if (opts.dryRun === true) {
    await planAndPrint(spec, opts, ctx, 'create');
    return;
  }
  const { engine, clients } = engineFor(ctx, opts, spec.name, spec.region, spec.table, spec.tags, 'create');
  try {
    const result = await engine.create(clusterGraph(spec));
    if (ctx.output.format === 'json') ctx.output.json(result);
    else ctx.output.text(renderCreate(result));
  } finally {
    clients.destroy();
  }
}

async function confirmDestroy(opts: Options, ctx: CommandContext): Promise<void> {
  if (opts.yes === true || opts.dryRun === true) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`refusing to destroy cluster "${opts.name}" without --yes when not at a terminal`, {
      hint: 'run it at a terminal to confirm, or pass --yes (look first with --dry-run)',
    });
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(
      `Destroy every resource kboot created for cluster "${opts.name}"? Type the cluster name to confirm: `,
      { signal: ctx.signal },
    );
    if (answer.trim() !== opts.name) {
      throw new UsageError('destroy cancelled: the name typed did not match', {
        hint: `type ${opts.name} to confirm, or pass --yes`,
      });
    }
  } finally {
    prompt.close();
  }
}

export async function clusterDestroy(options: ClusterOptions, ctx: CommandContext): Promise<void> {
  const opts = parseOptions(options, 'destroy');
  // A spec is optional: it can name the table and region; what is deleted comes from the records.
  const spec = opts.spec === undefined ? undefined : await readSpec(opts, ctx, 'destroy');
  const region = requireRegion(spec?.region ?? opts.region ?? ctx.region);
  const table = spec?.table ?? ctx.table ?? DEFAULT_TABLE;
  await confirmDestroy(opts, ctx);
  const { engine, clients } = engineFor(ctx, opts, opts.name, region, table, spec?.tags ?? {}, 'destroy');
  try {
    const result = await engine.destroy({ dryRun: opts.dryRun === true });
    if (ctx.output.format === 'json') ctx.output.json(result);
    else ctx.output.text(renderDestroy(result));
    const left = undeleted(result);
    if (left.length > 0) {
      throw new StateConflictError(
        `could not delete ${left.length} resource${left.length === 1 ? '' : 's'} of cluster "${opts.name}": ${left.map((e) => `${e.key} (${e.reason ?? e.outcome})`).join('; ')}`,
        {
          hint: "fix the cause, then run 'kboot cluster destroy' again: it goes on with what is still recorded",
          details: { undeleted: left.map((e) => e.key) },
        },
      );
    }
  } finally {
    clients.destroy();
  }
}
