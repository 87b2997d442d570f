/**
 * The upgrade roll as one flow (src/domain/steps), its steps generated from the planner's plan
 * (plan.ts): the upgrade lease → the record's `upgrade` (new, or the recorded one resumed) → the
 * launch templates' new version → cluster-configuration → each control-plane instance → addons →
 * each worker batch → finish. Every step writes its progress into `upgrade` under the lease, so a
 * rerun after a crash, Ctrl-C or a failed gate plans only what is left. The whole roll holds the
 * dedicated `upgrade` lease, not the control-plane-join lease: each new control-plane instance
 * takes that one itself to join, which a roll holding it would block.
 */

import { ConfigError, InterruptedError } from '../../core/errors.js';
import { describeHolder } from '../state/lease.js';
import { leaseStep } from '../steps/lease-step.js';
import type { Flow, FlowFailure } from '../steps/step.js';
import type { PlanStep } from './plan.js';
import type { UpgradeRecord } from './record.js';
import type { RollDeps } from './roll-ports.js';
import { replaceControlPlaneStep, replaceWorkersStep } from './roll-replace.js';
import { expectation, leaving, type RollState, type RollStep, recordUpgrade } from './roll-types.js';
import { healthGate } from './roll-wait.js';

export interface RollInput {
  /** What the record's `upgrade` becomes at the start (a resumed one without its `stopped`). */
  upgrade: UpgradeRecord;
  /** Whether the record already held it (a rerun resumes). */
  resumed: boolean;
  steps: readonly PlanStep[];
}

export interface RollResult {
  summary: string;
  from: string;
  to: string;
  /** Instances replaced in all (this run and earlier ones). */
  done: number;
  total: number | undefined;
}

const leaseTaken = leaseStep<RollState, RollDeps>({
  name: 'upgrade-lease',
  describe: (_state, deps) => `take the upgrade lease of cluster ${deps.settings.cluster}`,
  async request({ deps }) {
    return {
      lock: deps.ports.lock,
      options: {
        owner: deps.settings.owner,
        clock: deps.clock,
        leaseMs: deps.settings.leaseMs,
        pollMs: deps.settings.pollMs,
      },
    };
  },
  acquired({ state }, lease) {
    state.set({ lease });
  },
  busy({ deps }, current, notAcquired) {
    throw new ConfigError(
      `another upgrade of cluster ${deps.settings.cluster} is running: the upgrade lease is ${describeHolder(current, deps.clock.nowMs())}`,
      {
        cause: notAcquired,
        hint: 'wait for it to finish (kboot status shows its progress); a holder that died is replaced once its lease runs out',
      },
    );
  },
});

function recordStart(input: RollInput): RollStep {
  return {
    name: 'record-upgrade',
    kind: 'change',
    describe: () =>
      input.resumed
        ? `resume the recorded upgrade ${input.upgrade.from.kubernetesVersion} → ${input.upgrade.to.kubernetesVersion} (${input.upgrade.done.length} instance(s) done)`
        : `record the upgrade ${input.upgrade.from.kubernetesVersion} → ${input.upgrade.to.kubernetesVersion} in the cluster record (a rerun resumes from it)`,
    noUndo: 'the recorded upgrade is what a rerun resumes from; joiners follow its rule while it is recorded',
    async run(ctx) {
      await recordUpgrade(ctx, input.upgrade);
      return undefined;
    },
  };
}

const launchTemplates: RollStep = {
  name: 'launch-templates',
  kind: 'change',
  describe: (_state, deps) => deps.ports.templates.describe(),
  noUndo:
    'new instances launch at the target from now on; the earlier template versions stay, and `kboot cluster create` with the earlier spec points the groups back',
  async run(ctx) {
    const { changed } = await ctx.deps.ports.templates.prepare(ctx.signal);
    ctx.logger.info(
      { changed },
      changed.length === 0
        ? 'the groups launch the target already'
        : `new launch template versions: ${changed.join(', ')}`,
    );
    return undefined;
  },
};

function clusterConfiguration(to: string): RollStep {
  return {
    name: 'cluster-configuration',
    kind: 'change',
    describe: () =>
      `set the kubeadm-config ClusterConfiguration and the kubelet-config to Kubernetes ${to}, as kubeadm upgrade apply does, before the first new control-plane instance joins`,
    noUndo:
      'kubeadm does not downgrade: once an instance at the target joins, the way back is a backup restore',
    async run(ctx) {
      const { changed } = await ctx.deps.ports.configuration.setKubernetesVersion(to);
      ctx.logger.info(
        { to, changed },
        changed ? `ClusterConfiguration set to ${to}` : `ClusterConfiguration is at ${to} already`,
      );
      return undefined;
    },
  };
}

function addons(to: string): RollStep {
  return {
    name: 'addons',
    kind: 'change',
    describe: () =>
      `upgrade the addons bound to the version (kube-proxy, CoreDNS, cloud-controller-manager, Cilium where needed) to ${to}, once every API server runs it`,
    noUndo:
      'kube-proxy and CoreDNS at the target run against API servers at the target; a rerun applies them again (idempotent)',
    async run(ctx) {
      const upgrade = ctx.state.get('upgrade');
      if (upgrade.phase === 'control-plane') await recordUpgrade(ctx, { ...upgrade, phase: 'addons' });
      const { changed } = await ctx.deps.ports.addons.upgrade(to);
      ctx.logger.info(
        { to, changed },
        `addons at ${to}${changed.length > 0 ? ` (changed: ${changed.join(', ')})` : ''}`,
      );
      return undefined;
    },
  };
}

function finish(to: string): RollStep {
  return {
    name: 'finish',
    kind: 'change',
    describe: () =>
      `check every node is Ready, then record the upgrade done: the cluster record's kubernetesVersion becomes ${to}`,
    noUndo: 'the last step',
    async run(ctx) {
      // The last gate: every instance of the cluster Ready (a rerun may have skipped a batch's
      // own gate, recorded done before it was stopped).
      const instances = (await ctx.deps.ports.fleet.instances(ctx.signal)).filter((i) => !leaving(i));
      const members = await ctx.deps.ports.members.list(ctx.signal);
      await healthGate(
        ctx.deps,
        ctx.signal,
        ctx.logger,
        'the roll',
        expectation(instances, members, instances),
      );
      const upgrade = ctx.state.get('upgrade');
      const done: UpgradeRecord = { ...upgrade, phase: 'done' };
      await ctx.deps.ports.recorder.finish(done, ctx.state.get('lease'), ctx.signal);
      ctx.state.set({ upgrade: done });
      return undefined;
    },
  };
}

/** The steps a plan generates, in its order; worker batches numbered within their group. */
export function rollSteps(input: RollInput): RollStep[] {
  const steps: RollStep[] = [leaseTaken, recordStart(input), launchTemplates];
  const batches = new Map<string, number>();
  for (const step of input.steps) {
    switch (step.kind) {
      case 'cluster-configuration':
        steps.push(clusterConfiguration(step.to));
        break;
      case 'replace-control-plane':
        steps.push(replaceControlPlaneStep(step.instanceId, input.upgrade.to.kubernetesVersion));
        break;
      case 'addons':
        steps.push(addons(step.to));
        break;
      case 'replace-workers': {
        const index = batches.get(step.group) ?? 0;
        batches.set(step.group, index + 1);
        steps.push(replaceWorkersStep(step.group, step.instanceIds, index));
        break;
      }
      case 'finish':
        steps.push(finish(step.to));
        break;
    }
  }
  return steps;
}

function stoppedReason(failure: FlowFailure): string {
  if (failure.cause === 'interrupted') return 'interrupted (SIGINT or SIGTERM)';
  if (failure.cause === 'lease-lost') return `the upgrade lease was lost: ${failure.error.message}`;
  return failure.error.message;
}

export function rollFlow(input: RollInput): Flow<RollState, RollDeps, RollResult> {
  return {
    name: 'cluster upgrade',
    steps: rollSteps(input),
    result(state, run) {
      const upgrade = state.peek('upgrade') ?? input.upgrade;
      const { from, to } = upgrade;
      const done = upgrade.done.length;
      const summary = run.dryRun
        ? `would upgrade ${from.kubernetesVersion} → ${to.kubernetesVersion}`
        : `upgraded ${from.kubernetesVersion} → ${to.kubernetesVersion}: ${done} instance(s) replaced`;
      return { summary, from: from.kubernetesVersion, to: to.kubernetesVersion, done, total: upgrade.total };
    },
    async recordFailure(ctx) {
      // Stopped before or while taking the lease: nothing of this run is recorded (and a busy
      // lease means another run's upgrade, not this one's to mark).
      if (ctx.failure.step === leaseTaken.name) return;
      // The record step's write may have landed though its answer was cut off by the stop: the
      // mark is conditional on this roll's startedAt, so it only lands on this roll.
      const startedAt = (ctx.state.peek('upgrade') ?? input.upgrade).startedAt;
      await ctx.deps.ports.recorder.stopped(
        startedAt,
        {
          at: new Date(ctx.deps.clock.nowMs()).toISOString(),
          step: ctx.failure.step,
          reason: stoppedReason(ctx.failure).slice(0, 500),
        },
        ctx.signal,
      );
    },
    errorFor(failure) {
      if (failure.cause !== 'interrupted') return failure.error;
      return new InterruptedError(`cluster upgrade interrupted at step ${failure.step}`, {
        cause: failure.error,
        hint: "run 'kboot cluster upgrade' again with the same spec: it resumes from what is recorded",
      });
    },
  };
}
