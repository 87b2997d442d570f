/**
 * The replacement steps of the roll (docs/upgrades.md "What happens"):
 * - a control-plane instance: surge before removal. One more instance in the group (it boots at
 *   the target and joins under the control-plane-join lease: etcd n → n+1), recorded as joined,
 *   the health gate; then the old instance terminated through the group with decrement (its
 *   lifecycle hook runs `kboot leave`: etcd n+1 → n), gone from the group, the health gate
 *   again, recorded in `done`.
 * - a batch of workers (maxUnavailable of a group): terminated through the group without
 *   decrement (each leaves through `kboot leave`, which drains it), the group launches their
 *   replacements at the target; they join, the gate passes, the batch is recorded in `done`.
 * A rerun finds what a killed run left (an instance surged but not yet paired, an old instance
 * already terminating) and goes on from there: nothing is replaced twice.
 */

import type { MemberRecord } from '../state/member.js';
import type { FlowState } from '../steps/state.js';
import type { FleetInstance } from './roll-ports.js';
import {
  expectation,
  leaving,
  type RollContext,
  type RollState,
  type RollStep,
  recordUpgrade,
  unclaimed,
} from './roll-types.js';
import { healthGate, waitFor } from './roll-wait.js';

const RESUME_OVER_UNDO =
  'a replacement is not rolled back: a rerun finds the surged or terminating instance and goes on from there (the cluster keeps its quorum either way)';

function targetImages(state: FlowState<RollState>): Set<string> {
  return new Set(Object.values(state.get('upgrade').to.images));
}

async function joined(
  ctx: RollContext,
  wanted: readonly FleetInstance[],
  role: 'control-plane' | 'worker',
): Promise<MemberRecord[]> {
  const ids = wanted.map((i) => i.instanceId);
  return waitFor(
    ctx.deps,
    ctx.signal,
    ctx.logger,
    `${ids.join(', ')} to join the cluster as ${role}`,
    ctx.deps.settings.joinTimeoutMs,
    async () => {
      const members = await ctx.deps.ports.members.list(ctx.signal);
      const missing = ids.filter((id) => !members.some((m) => m.instanceId === id && m.role === role));
      return missing.length === 0
        ? { value: members, seen: 'joined' }
        : { value: undefined, seen: `not yet recorded as joined: ${missing.join(', ')}` };
    },
  );
}

async function gone(ctx: RollContext, ids: readonly string[]): Promise<FleetInstance[]> {
  return waitFor(
    ctx.deps,
    ctx.signal,
    ctx.logger,
    `${ids.join(', ')} to leave (kboot leave through the lifecycle hook) and be terminated`,
    ctx.deps.settings.leaveTimeoutMs,
    async () => {
      const now = await ctx.deps.ports.fleet.instances(ctx.signal);
      const still = now.filter((i) => ids.includes(i.instanceId));
      return still.length === 0
        ? { value: now, seen: 'gone' }
        : { value: undefined, seen: still.map((i) => `${i.instanceId} ${i.lifecycleState}`).join(', ') };
    },
  );
}

/**
 * A fenced write of the record as it is, just before a termination: a roll that lost its lease
 * (taken over by another run) terminates nothing, so nothing is terminated that it cannot record.
 */
async function stillHeld(ctx: RollContext): Promise<void> {
  await recordUpgrade(ctx, ctx.state.get('upgrade'));
}

/** Adds instances to the record's `done` (a termination is not taken back: recorded as it is made). */
async function recordDone(
  ctx: RollContext,
  entries: readonly { instanceId: string; replacedBy: string | undefined }[],
  role: 'control-plane' | 'worker',
  group?: string,
): Promise<void> {
  const upgrade = ctx.state.get('upgrade');
  const at = new Date(ctx.deps.clock.nowMs()).toISOString();
  await recordUpgrade(ctx, {
    ...upgrade,
    done: [
      ...upgrade.done,
      ...entries.map(({ instanceId, replacedBy }) => ({
        instanceId,
        role,
        ...(group === undefined ? {} : { group }),
        ...(replacedBy === undefined ? {} : { replacedBy }),
        at,
      })),
    ],
  });
}

export function replaceControlPlaneStep(instanceId: string, to: string): RollStep {
  return {
    name: `replace-control-plane-${instanceId}`,
    kind: 'change',
    describe: () =>
      `replace control-plane instance ${instanceId}: one more instance at ${to} joins, the health gate passes, then ${instanceId} leaves through its group (kboot leave) and the gate passes again`,
    noUndo: RESUME_OVER_UNDO,
    async run(ctx) {
      const { fleet } = ctx.deps.ports;
      const images = targetImages(ctx.state);
      const before = await fleet.instances(ctx.signal);
      const old = before.find((i) => i.instanceId === instanceId);
      if (old !== undefined && !leaving(old)) {
        let fresh = unclaimed(
          before,
          old.groupName,
          images,
          ctx.state.get('upgrade'),
          new Set([instanceId]),
        )[0];
        if (fresh === undefined) {
          const { desired } = await fleet.surge(old.groupName, ctx.signal);
          ctx.logger.info(
            { group: old.groupName, desired },
            `surged ${old.groupName} to ${desired} instances`,
          );
          const known = new Set(before.map((i) => i.instanceId));
          fresh = await waitFor(
            ctx.deps,
            ctx.signal,
            ctx.logger,
            `a new instance in ${old.groupName}`,
            ctx.deps.settings.joinTimeoutMs,
            async () => {
              const now = await fleet.instances(ctx.signal);
              const found = now.find(
                (i) => i.groupName === old.groupName && !known.has(i.instanceId) && !leaving(i),
              );
              return {
                value: found,
                seen: `${now.filter((i) => i.groupName === old.groupName).length} instance(s)`,
              };
            },
          );
        } else {
          ctx.logger.info(
            { instanceId: fresh.instanceId },
            `going on with ${fresh.instanceId}, surged by an earlier run`,
          );
        }
        ctx.mark(`surged-${instanceId}`);
        const members = await joined(ctx, [fresh], 'control-plane');
        const now = await fleet.instances(ctx.signal);
        await healthGate(
          ctx.deps,
          ctx.signal,
          ctx.logger,
          `${fresh.instanceId} joined`,
          expectation(now, members, [fresh]),
        );
        await stillHeld(ctx);
        await fleet.terminate(instanceId, true, ctx.signal);
        ctx.logger.info(
          { instanceId },
          `terminating ${instanceId} through its group (its lifecycle hook runs kboot leave)`,
        );
        // Recorded at once: a termination is not taken back, and a rerun must not plan it again
        // even when the instance is gone before the rerun looks.
        await recordDone(ctx, [{ instanceId, replacedBy: fresh.instanceId }], 'control-plane');
      } else if (!ctx.state.get('upgrade').done.some((d) => d.instanceId === instanceId)) {
        // A killed run terminated it already: its replacement is the one on the target no entry names.
        const paired =
          old === undefined
            ? undefined
            : unclaimed(before, old.groupName, images, ctx.state.get('upgrade'), new Set([instanceId]))[0];
        await recordDone(ctx, [{ instanceId, replacedBy: paired?.instanceId }], 'control-plane');
      }
      const after = await gone(ctx, [instanceId]);
      const members = await ctx.deps.ports.members.list(ctx.signal);
      await healthGate(
        ctx.deps,
        ctx.signal,
        ctx.logger,
        `${instanceId} left`,
        expectation(after, members, []),
      );
      return undefined;
    },
  };
}

export function replaceWorkersStep(group: string, batch: readonly string[], index: number): RollStep {
  return {
    name: `replace-workers-${group}-${index + 1}`,
    kind: 'change',
    describe: () =>
      `replace worker${batch.length === 1 ? '' : 's'} ${batch.join(', ')} of group ${group}: terminated through the group (kboot leave drains ${batch.length === 1 ? 'it' : 'them'}), replaced at the target, the health gate passes`,
    noUndo: RESUME_OVER_UNDO,
    async run(ctx) {
      const { fleet } = ctx.deps.ports;
      const upgrade = ctx.state.get('upgrade');
      if (upgrade.phase !== 'workers') await recordUpgrade(ctx, { ...upgrade, phase: 'workers' });
      const before = await fleet.instances(ctx.signal);
      const olds = before.filter((i) => batch.includes(i.instanceId));
      const groupName = olds[0]?.groupName;
      if (olds.some((i) => !leaving(i))) await stillHeld(ctx);
      for (const old of olds.filter((i) => !leaving(i))) {
        await fleet.terminate(old.instanceId, false, ctx.signal);
        ctx.logger.info(
          { instanceId: old.instanceId, group },
          `terminating worker ${old.instanceId} through its group`,
        );
      }
      // Recorded at once (a termination is not taken back); the replacements are named once known.
      const recorded = new Set(ctx.state.get('upgrade').done.map((d) => d.instanceId));
      const unrecorded = batch.filter((id) => !recorded.has(id));
      if (unrecorded.length > 0)
        await recordDone(
          ctx,
          unrecorded.map((instanceId) => ({ instanceId, replacedBy: undefined })),
          'worker',
          group,
        );
      await gone(ctx, batch);
      const images = targetImages(ctx.state);
      const fresh =
        groupName === undefined
          ? []
          : await waitFor(
              ctx.deps,
              ctx.signal,
              ctx.logger,
              `${olds.length} replacement(s) in ${groupName}`,
              ctx.deps.settings.joinTimeoutMs,
              async () => {
                const now = await fleet.instances(ctx.signal);
                const found = unclaimed(now, groupName, images, ctx.state.get('upgrade'), new Set());
                return {
                  value: found.length >= olds.length ? found.slice(0, olds.length) : undefined,
                  seen: `${found.length} of ${olds.length}`,
                };
              },
            );
      const members =
        fresh.length === 0
          ? await ctx.deps.ports.members.list(ctx.signal)
          : await joined(ctx, fresh, 'worker');
      const now = await fleet.instances(ctx.signal);
      await healthGate(
        ctx.deps,
        ctx.signal,
        ctx.logger,
        `workers ${batch.join(', ')} were replaced`,
        expectation(now, members, fresh),
      );
      if (fresh.length > 0) {
        const byOld = new Map(olds.map((old, i) => [old.instanceId, fresh[i]?.instanceId]));
        const current = ctx.state.get('upgrade');
        await recordUpgrade(ctx, {
          ...current,
          done: current.done.map((entry) => {
            const by = byOld.get(entry.instanceId);
            return by === undefined || entry.replacedBy !== undefined ? entry : { ...entry, replacedBy: by };
          }),
        });
      }
      return undefined;
    },
  };
}
