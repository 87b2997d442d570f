/**
 * The steps every boot flow starts with: who am I, may I run this flow, have I already joined?
 * And the kubeadm-side helpers the join steps share.
 */

import { IncompatibleError } from '../../core/errors.js';
import type { Identity } from '../identity/resolve.js';
import type { Role } from '../identity/tags.js';
import type { FlowState } from '../steps/state.js';
import type { Step, StepContext } from '../steps/step.js';
import { bootTimeline } from '../steps/timeline.js';
import type { FlowDeps, FlowName, FlowOutcome, FlowResult } from './deps.js';
import { type MembershipState, readMembership } from './membership.js';
import { INIT_CONFIG_PATH, JOIN_CONFIG_PATH, MEMBERSHIP_PATH } from './paths.js';

const INIT_CONFIG_NAME = INIT_CONFIG_PATH.slice(INIT_CONFIG_PATH.lastIndexOf('/') + 1);
const JOIN_CONFIG_NAME = JOIN_CONFIG_PATH.slice(JOIN_CONFIG_PATH.lastIndexOf('/') + 1);

/** The fields every FlowResult of a run shares. */
export type FlowBase = Pick<FlowResult, 'flow' | 'cluster' | 'role' | 'instanceId'>;

export interface StartState {
  identity: Identity;
  base: FlowBase;
  membership: MembershipState;
}

/** How the membership step ends a flow on an instance that already joined. */
export const ALREADY_MEMBER = 'already a member of the cluster; nothing to do';

/** Who this instance is; it must carry `role` (`hint`: what to run instead). */
export function identityStep<T extends StartState>(
  flow: FlowName,
  role: Role,
  hint?: string,
): Step<T, FlowDeps> {
  return {
    name: 'identity',
    kind: 'read',
    describe: () => 'read who this instance is (IMDS: instance, region, tags)',
    async run({ state, deps }) {
      const identity = await deps.identity();
      requireRole(identity, role, `kboot ${flow}`, hint);
      state.set({
        identity,
        base: {
          flow,
          cluster: identity.clusterName,
          role: identity.role,
          instanceId: identity.instance.instanceId,
        },
      } as Partial<T>);
      return undefined;
    },
  };
}

export function membershipStep<T extends StartState>(): Step<T, FlowDeps> {
  return {
    name: 'membership',
    kind: 'read',
    describe: () => 'check whether this instance already joined (membership file and kubelet.conf)',
    async run({ state, deps, logger, signal }) {
      const cluster = state.get('identity').clusterName;
      let membership = await readMembership(deps.fs, cluster);
      if (membership.state === 'member' && membership.membership.how === 'init') {
        membership = await confirmOwnInit(deps, cluster, membership, logger, signal);
      }
      state.set({ membership } as Partial<T>);
      if (membership.state !== 'member') return undefined;
      logger.info({ joinedAt: membership.membership.joinedAt }, ALREADY_MEMBER);
      return { end: ALREADY_MEMBER };
    },
  };
}

/**
 * The first master writes its membership file just before the fenced transaction that marks the
 * cluster initialized (so a crash after that transaction never resets the cluster's only
 * member). A file from an init that was killed in between names a cluster that was never
 * initialized by this instance: it is stale, so the node counts as an unfinished init or join
 * (reset, then tried again; the next membership file replaces it). Costs the first master one record read on a reboot; workers
 * and joined masters never write `how: init`.
 */
async function confirmOwnInit(
  deps: FlowDeps,
  cluster: string,
  membership: Extract<MembershipState, { state: 'member' }>,
  logger: StepContext<StartState, FlowDeps>['logger'],
  signal: AbortSignal,
): Promise<MembershipState> {
  const record = await (await deps.state()).records.readRecord(cluster, signal);
  if (record?.initialized?.by === membership.membership.instanceId) return membership;
  logger.warn(
    { initializedBy: record?.initialized?.by ?? null },
    `${MEMBERSHIP_PATH} is from an init that never marked the cluster initialized: resetting and starting over`,
  );
  return { state: 'partial' };
}

/** A member record's boot timeline: the run so far, up to the step that records the member. */
export function memberTimeline(
  progress: ReturnType<StepContext<StartState, FlowDeps>['progress']>,
  identity: Identity,
): { launchToStartMs: number | null; milestones: Record<string, number> } {
  const timeline = bootTimeline({
    ...progress,
    launchedAtMs: identity.instance.launchedAtMs,
    finished: true,
  });
  return { launchToStartMs: timeline.launchToStartMs, milestones: timeline.milestones };
}

/** Where kboot writes the kubeadm configs (each holds a bootstrap token, init's a certificate key). */
const KUBEADM_CONFIG_DIR = '/var/lib/kboot/kubeadm';

/**
 * Removes the kubeadm init and join configs (and temp files of their writes) an earlier run left
 * because it was killed (SIGKILL, power loss) before its cleanup ran: whatever this run does next
 * (join, end as a member), no secret-bearing file outlives it. A run that finishes or is stopped
 * removes its own. (kboot rotate's configs in the same directory are its own to remove.)
 */
export function leftoverConfigsStep<T extends StartState>(): Step<T, FlowDeps> {
  return {
    name: 'leftover-configs',
    kind: 'change',
    describe: () =>
      `remove kubeadm configs an earlier, killed run left in ${KUBEADM_CONFIG_DIR} (they hold a bootstrap token), if any`,
    noUndo: 'it only removes files no run needs',
    async run({ deps, logger }) {
      const names = (await deps.fs.list(KUBEADM_CONFIG_DIR)).filter((name) =>
        [INIT_CONFIG_NAME, JOIN_CONFIG_NAME].some(
          (config) => name === config || (name.startsWith(`${config}.`) && name.endsWith('.tmp')),
        ),
      );
      for (const name of names) await deps.fs.remove(`${KUBEADM_CONFIG_DIR}/${name}`);
      if (names.length > 0)
        logger.info({ files: names }, 'removed kubeadm configs an earlier, killed run left');
      return undefined;
    },
  };
}

/** The result of a flow that found this instance already a member. */
export function alreadyMemberResult(state: FlowState<StartState>): FlowResult {
  const base = state.get('base');
  const what = base.role === 'worker' ? 'a worker' : 'a control-plane member';
  return { ...base, outcome: 'already-member', summary: `already ${what} of cluster ${base.cluster}` };
}

export function plannedResult(state: FlowState<StartState>): FlowResult {
  return {
    ...state.get('base'),
    outcome: 'planned' satisfies FlowOutcome,
    summary: 'dry run: nothing changed',
  };
}

/** The instance must carry the role the command was asked to act as (exit 9 otherwise, with the hint). */
export function requireRole(identity: Identity, role: Role, command: string, hint?: string): void {
  if (identity.role === role) return;
  throw new IncompatibleError(`this instance is tagged ${identity.role}, so it cannot run '${command}'`, {
    hint:
      hint ??
      (identity.role === 'worker'
        ? "run 'kboot join-node' (or 'kboot boot', which picks the flow from the role tag)"
        : "run 'kboot join-master' or 'kboot bootstrap-master' (or 'kboot boot')"),
  });
}
