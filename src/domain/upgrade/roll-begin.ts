/**
 * From a plan to what the roll starts from (pure): the record's `upgrade` as it is written at the
 * start — a new one, or the recorded one resumed (its `stopped` cleared, its total planned
 * again) — and the refusals of what this kboot cannot do (a version change without the
 * ClusterConfiguration and addons adapters).
 */

import type { ClusterInstance, PlanStep, UpgradeTarget } from './plan.js';
import type { Architecture, UpgradeRecord } from './record.js';
import type { RollInput } from './roll-flow.js';

export interface BeginInput {
  recorded: UpgradeRecord | undefined;
  from: string;
  to: string;
  steps: readonly PlanStep[];
  target: UpgradeTarget;
  instances: readonly ClusterInstance[];
  nowMs: number;
  startedBy: string;
}

/** How many instances the steps replace. */
export function replacements(steps: readonly PlanStep[]): number {
  return steps.reduce(
    (sum, step) =>
      sum +
      (step.kind === 'replace-control-plane'
        ? 1
        : step.kind === 'replace-workers'
          ? step.instanceIds.length
          : 0),
    0,
  );
}

/** The AMI per architecture the instances not yet on the target run (the first seen, oldest first). */
function currentImages(
  instances: readonly ClusterInstance[],
  target: UpgradeTarget,
): Partial<Record<Architecture, string>> {
  const images: Partial<Record<Architecture, string>> = {};
  for (const instance of [...instances].sort((a, b) => a.launchedAt.localeCompare(b.launchedAt))) {
    if (images[instance.arch] === undefined && target.images[instance.arch] !== instance.imageId)
      images[instance.arch] = instance.imageId;
  }
  return images;
}

export function beginRoll(input: BeginInput): RollInput {
  const pending = replacements(input.steps);
  if (input.recorded !== undefined && input.recorded.phase !== 'done') {
    const { stopped: _stopped, ...rest } = input.recorded;
    return {
      upgrade: { ...rest, total: input.recorded.done.length + pending },
      resumed: true,
      steps: input.steps,
    };
  }
  return {
    resumed: false,
    steps: input.steps,
    upgrade: {
      from: { kubernetesVersion: input.from, images: currentImages(input.instances, input.target) },
      to: { kubernetesVersion: input.to, images: { ...input.target.images } },
      phase: 'control-plane',
      startedAt: new Date(input.nowMs).toISOString(),
      startedBy: input.startedBy,
      done: [],
      total: pending,
    },
  };
}
