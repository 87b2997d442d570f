/** The roll's flow state and step type, and what its steps share about the fleet and the record. */

import type { Lease } from '../state/lease.js';
import type { MemberRecord } from '../state/member.js';
import type { Step, StepContext } from '../steps/step.js';
import type { HealthExpectation } from './ports.js';
import type { UpgradeRecord } from './record.js';
import type { FleetInstance, RollDeps } from './roll-ports.js';

export interface RollState {
  /** The upgrade lease, held for the whole roll. */
  lease: Lease;
  /** The record's `upgrade` as last written. */
  upgrade: UpgradeRecord;
}

export type RollStep = Step<RollState, RollDeps>;
export type RollContext = StepContext<RollState, RollDeps>;

/** An instance Auto Scaling is taking away: it no longer counts. */
export function leaving(instance: FleetInstance): boolean {
  return /^Terminat|^Detach|^Standby/.test(instance.lifecycleState);
}

/** Instances of a group on the target image that no done entry names yet: what a killed run left surged. */
export function unclaimed(
  instances: readonly FleetInstance[],
  groupName: string,
  imageIds: ReadonlySet<string>,
  upgrade: UpgradeRecord,
  exclude: ReadonlySet<string>,
): FleetInstance[] {
  const claimed = new Set(
    upgrade.done.flatMap((entry) => (entry.replacedBy === undefined ? [] : [entry.replacedBy])),
  );
  return instances
    .filter(
      (i) =>
        i.groupName === groupName &&
        !leaving(i) &&
        imageIds.has(i.imageId) &&
        !claimed.has(i.instanceId) &&
        !exclude.has(i.instanceId),
    )
    .sort((a, b) => a.launchedAt.localeCompare(b.launchedAt) || a.instanceId.localeCompare(b.instanceId));
}

/** What the health gate expects now: the control-plane instances in service that joined, and the new Nodes. */
export function expectation(
  instances: readonly FleetInstance[],
  members: readonly MemberRecord[],
  ready: readonly FleetInstance[],
): HealthExpectation {
  const joined = new Map(members.map((m) => [m.instanceId, m]));
  const nodeName = (i: FleetInstance) => joined.get(i.instanceId)?.nodeName ?? i.privateDns;
  return {
    controlPlaneNodes: instances
      .filter((i) => i.role === 'control-plane' && !leaving(i) && joined.has(i.instanceId))
      .map(nodeName)
      .sort(),
    readyNodes: ready.map(nodeName).sort(),
  };
}

/** Writes the record's `upgrade` under the lease and keeps it as the state's. */
export async function recordUpgrade(ctx: RollContext, next: UpgradeRecord): Promise<void> {
  await ctx.deps.ports.recorder.write(next, ctx.state.get('lease'), ctx.signal);
  ctx.state.set({ upgrade: next });
}
