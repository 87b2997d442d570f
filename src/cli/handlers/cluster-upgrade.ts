/**
 * `kboot cluster upgrade --name N -f SPEC [--dry-run] [--yes] [--max-unavailable N] [--output json]`
 * (docs/upgrades.md): the spec's Kubernetes version and AMI against the recorded cluster. Every
 * reason to refuse is gathered first (exit 2: the planner's, no AMI, a cluster that fails the
 * health gate before starting); then the roll runs as one
 * flow (src/domain/upgrade/roll-flow.ts) under the upgrade lease, recording its progress so a
 * rerun resumes. Like destroy, it asks on a terminal and needs --yes anywhere else.
 */

import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { AwsClients } from '../../adapters/aws/clients.js';
import { DynamoDbUpgradeRecorder } from '../../adapters/aws/dynamodb-upgrade.js';
import { ConfigError, UsageError } from '../../core/errors.js';
import { runFlow } from '../../domain/steps/runner.js';
import { beginRoll } from '../../domain/upgrade/roll-begin.js';
import { type RollInput, rollFlow } from '../../domain/upgrade/roll-flow.js';
import type { RollDeps } from '../../domain/upgrade/roll-ports.js';
import { expectation } from '../../domain/upgrade/roll-types.js';
import type { CommandContext } from '../context.js';
import { runFlowCommand, STOP_GRACE_MS } from '../run-flow.js';
import { clusterSide } from '../upgrade/cluster-side.js';
import { type Prepared, prepareUpgrade } from '../upgrade/prepare.js';
import { rollSettings } from '../upgrade/settings.js';
import { engineLaunchTemplates } from '../upgrade/templates.js';
import { parseOptions, readSpec } from './cluster.js';

/** Releasing the lease and recording why the roll stopped. */
const UNDO_BUDGET_MS = 20_000;

const extraSchema = z.object({
  maxUnavailable: z.coerce
    .number()
    .int({ error: '--max-unavailable must be a whole number from 1 to 100' })
    .min(1, { error: '--max-unavailable must be a whole number from 1 to 100' })
    .max(100, { error: '--max-unavailable must be a whole number from 1 to 100' })
    .default(1),
});

export interface ClusterUpgradeOptions {
  name: string;
  spec?: string;
  dryRun?: boolean;
  yes?: boolean;
  region?: string;
  maxUnavailable?: string | number;
  [other: string]: unknown;
}

function refuse(ctx: CommandContext, cluster: string, refusals: readonly string[]): never {
  if (ctx.output.format === 'json') ctx.output.json({ cluster, refused: true, refusals });
  throw new ConfigError(`refusing to upgrade cluster "${cluster}": ${refusals.join('; ')}`, {
    hint: 'nothing was changed; fix what is named, then run kboot cluster upgrade again',
    details: { refusals },
  });
}

async function confirm(cluster: string, summary: string, ctx: CommandContext): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`refusing to upgrade cluster "${cluster}" without --yes when not at a terminal`, {
      hint: 'run it at a terminal to confirm, or pass --yes (look first with --dry-run)',
    });
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${summary}\nType the cluster name to start: `, {
      signal: ctx.signal,
    });
    if (answer.trim() !== cluster) {
      throw new UsageError('upgrade cancelled: the name typed did not match', {
        hint: `type ${cluster} to confirm, or pass --yes`,
      });
    }
  } finally {
    prompt.close();
  }
}

export async function clusterUpgrade(options: ClusterUpgradeOptions, ctx: CommandContext): Promise<void> {
  const { maxUnavailable: rawMax, ...rest } = options;
  const opts = parseOptions(rest, 'upgrade');
  const extra = extraSchema.safeParse({ maxUnavailable: rawMax });
  if (!extra.success) {
    throw new UsageError(extra.error.issues.map((issue) => issue.message).join('; '), {
      hint: "run 'kboot cluster upgrade --help'",
    });
  }
  const spec = await readSpec(opts, ctx, 'upgrade');
  const settings = rollSettings(spec.name, ctx.env);
  const logger = ctx.logger.child({ command: 'cluster upgrade', cluster: spec.name });
  const clients = new AwsClients({
    region: spec.region,
    logger,
    env: ctx.env,
    traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS,
  });
  try {
    const prepared = await prepareUpgrade({
      spec,
      clients,
      clock: ctx.clock,
      maxUnavailable: extra.data.maxUnavailable,
      signal: ctx.signal,
    });
    if (prepared.refusals.length > 0 || prepared.plan === undefined || !prepared.plan.ok)
      refuse(ctx, spec.name, prepared.refusals);
    const { plan } = prepared;
    for (const warning of plan.warnings) logger.warn({ to: plan.to }, warning);
    if (plan.steps.length === 0) {
      const summary = `cluster ${spec.name} runs Kubernetes ${plan.to} on the spec's AMIs: nothing to upgrade`;
      if (ctx.output.format === 'json') ctx.output.json({ cluster: spec.name, summary, steps: [] });
      else ctx.output.text(summary);
      return;
    }
    const side = await clusterSide({
      cluster: spec.name,
      record: prepared.record as NonNullable<Prepared['record']>,
      clients,
      logger,
      env: ctx.env,
      signal: ctx.signal,
    });
    try {
      const members = (await prepared.store.readClusterState(spec.name, ctx.signal))?.members ?? [];
      const before = await side.health.check(expectation(prepared.instances, members, []));
      if (!before.healthy)
        refuse(ctx, spec.name, [
          `the cluster fails the health gate before starting: ${before.problems.join('; ')}`,
        ]);
      const input = beginRoll({
        recorded: prepared.resumes,
        from: plan.from,
        to: plan.to,
        steps: plan.steps,
        target: prepared.target,
        instances: prepared.instances,
        nowMs: ctx.clock.nowMs(),
        startedBy: settings.owner,
      });
      if (opts.dryRun !== true && opts.yes !== true)
        await confirm(spec.name, describeRoll(input, plan.kind), ctx);
      const deps: RollDeps = {
        clock: ctx.clock,
        settings,
        ports: {
          fleet: prepared.fleet,
          templates: engineLaunchTemplates({
            spec,
            graph: prepared.graph,
            clients,
            logger,
            clock: ctx.clock,
          }),
          members: {
            list: async (signal) => (await prepared.store.readClusterState(spec.name, signal))?.members ?? [],
          },
          recorder: new DynamoDbUpgradeRecorder(
            { dynamodb: await clients.dynamodb(), tableName: spec.table, clock: ctx.clock },
            spec.name,
          ),
          lock: prepared.store.leaseLock(spec.name, 'upgrade'),
          health: side.health,
          configuration: side.configuration,
          addons: side.addons,
        },
      };
      await runFlowCommand(
        ctx,
        { flow: 'cluster upgrade', dryRun: opts.dryRun === true, timingsKey: 'timings' },
        () =>
          runFlow(rollFlow(input), deps, {
            logger,
            clock: ctx.clock,
            signal: ctx.signal,
            dryRun: opts.dryRun === true,
            undoBudgetMs: UNDO_BUDGET_MS,
            stopGraceMs: STOP_GRACE_MS,
          }),
      );
    } finally {
      await side.close();
    }
  } finally {
    clients.destroy();
  }
}

function describeRoll(input: RollInput, kind: string): string {
  const { upgrade } = input;
  return `${input.resumed ? 'Resume' : 'Start'} the ${kind} upgrade of ${upgrade.from.kubernetesVersion} → ${upgrade.to.kubernetesVersion}: ${upgrade.total ?? 0} instance(s) to replace in all, ${upgrade.done.length} done.`;
}
