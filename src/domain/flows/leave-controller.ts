/**
 * `kboot leave-controller` (kboot-leave-controller.timer, every 10 s, on control-plane members):
 * drain the workers that asked to leave, with this master's own admin credentials, so that no
 * worker holds a credential that can touch a Node or a pod.
 *   identity (control-plane) → admin.conf (none: not a member yet, nothing to do) → the cluster's
 *   leave requests (one Query) → for each pending request, at once: verify it (Auto Scaling says
 *   it is terminating (Terminating:Wait in kboot's hook), or EC2 says shutting-down; EC2's node name and IP match the request's) →
 *   claim it (a conditional write: one master acts; a claim older than STALE_CLAIM_MS, its master
 *   gone, may be taken over) → cordon and drain (evictions respect PodDisruptionBudgets, the
 *   worker's deadline) → delete the Node → mark it done (or refused, with why; or failed) → forget
 *   requests finished long enough ago for their workers to have read them.
 * The worker waits for `done` (flows/leave.ts), then runs kubeadm reset and completes its lifecycle
 * action itself. A request is never trusted: IAM cannot pin a worker's writes to its own item
 * (domain/leave/request.ts).
 */

import { formatDurationMs } from '../../core/duration.js';
import { boundsOf } from '../config/durations.js';
import { deleteNode, drainNode, type NodeKubectl } from '../leave/drain.js';
import type { LifecycleActions } from '../leave/lifecycle.js';
import {
  FINISHED_STATES,
  isTerminating,
  type LeaveRequest,
  type LeaveRequestStore,
  type RequestFacts,
  verifyLeaveRequest,
} from '../leave/request.js';
import type { Flow, Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';
import { ADMIN_CONF_PATH } from './paths.js';
import { type FlowBase, identityStep, type StartState } from './start-steps.js';

/** A claim this old belongs to a master that died mid-drain: another may take the request over. */
export const STALE_CLAIM_MS = 10 * 60_000;
/** A finished request is forgotten this long after (its worker read it long before). */
export const FORGET_AFTER_MS = 10 * 60_000;
/**
 * A request Auto Scaling does not (yet) show as terminating is refused only once it is this old:
 * DescribeAutoScalingInstances may lag the lifecycle transition that started `kboot leave`.
 */
export const VERIFY_GRACE_MS = 30_000;

export interface LeaveControllerDeps extends FlowDeps {
  lifecycle(): Promise<LifecycleActions>;
  leaveRequests(): Promise<LeaveRequestStore>;
}

export type RequestOutcome = 'done' | 'refused' | 'failed' | 'waiting' | 'taken' | 'planned';

export interface HandledRequest {
  instanceId: string;
  nodeName: string;
  outcome: RequestOutcome;
  detail: string;
}

export interface LeaveControllerResult extends FlowBase {
  outcome: 'handled' | 'planned';
  requests: HandledRequest[];
  forgotten: number;
  summary: string;
}

export interface LeaveControllerState extends StartState {
  kubeconfigPath: string;
  pending: LeaveRequest[];
  finished: LeaveRequest[];
  handled: HandledRequest[];
  forgotten: number;
}

type ControllerStep = Step<LeaveControllerState, LeaveControllerDeps>;

const adminConf: ControllerStep = {
  name: 'admin-kubeconfig',
  kind: 'read',
  describe: () => `check that ${ADMIN_CONF_PATH} exists (this master's own credentials drain the workers)`,
  async run({ state, deps }) {
    if (!(await deps.fs.exists(ADMIN_CONF_PATH))) {
      return { end: `${ADMIN_CONF_PATH} does not exist: this master has not joined yet; nothing to do` };
    }
    state.set({ kubeconfigPath: deps.fs.resolve(ADMIN_CONF_PATH) });
    return undefined;
  },
};

const readRequests: ControllerStep = {
  name: 'leave-requests',
  kind: 'read',
  describe: (state) => `read the leave requests of cluster ${state.get('identity').clusterName}`,
  async run({ state, deps, signal }) {
    const cluster = state.get('identity').clusterName;
    const all = await (await deps.leaveRequests()).list(cluster, signal);
    const staleBefore = deps.clock.nowMs() - STALE_CLAIM_MS;
    const pending = all.filter(
      (request) =>
        request.state === undefined ||
        (request.state === 'draining' && Date.parse(request.claimedAt ?? '') < staleBefore),
    );
    const finished = all.filter(
      (request) => request.state !== undefined && FINISHED_STATES.has(request.state),
    );
    state.set({ pending, finished, handled: [], forgotten: 0 });
    return undefined;
  },
};

const drainRequested: ControllerStep = {
  name: 'drain-requested',
  kind: 'change',
  describe: (state) => {
    const pending = state.get('pending');
    if (pending.length === 0) return 'no pending leave request: nothing to drain';
    return `verify each request (Auto Scaling Terminating:Wait or EC2 shutting-down; EC2 node name and IP), claim it, cordon and drain its node, delete the Node, mark it done: ${pending.map((r) => `${r.instanceId} (${r.nodeName})`).join(', ')}`;
  },
  skip: (state) => (state.get('pending').length === 0 ? 'no pending leave request' : undefined),
  noUndo: 'the instances are being terminated: a drained node is not brought back',
  async run({ state, deps, signal, logger }) {
    const identity = state.get('identity');
    const cluster = identity.clusterName;
    const pending = state.get('pending');
    const [store, lifecycle, instances] = await Promise.all([
      deps.leaveRequests(),
      deps.lifecycle(),
      deps.cleanup.instances(),
    ]);
    const lookup = await instances.lookup(
      { cluster, instanceIds: pending.map((request) => request.instanceId), privateDnsNames: [] },
      signal,
    );
    const ctx: NodeKubectl = {
      kubectl: deps.kubectl,
      kubeconfigPath: state.get('kubeconfigPath'),
      logger,
      signal,
    };
    const handle = async (request: LeaveRequest): Promise<HandledRequest> => {
      const named = { instanceId: request.instanceId, nodeName: request.nodeName };
      const group = await lifecycle.findGroup(request.instanceId, signal);
      const fact = lookup.byId.get(request.instanceId);
      const facts: RequestFacts = {
        lifecycleState: group?.lifecycleState,
        instance:
          fact === undefined
            ? undefined
            : {
                state: fact.state,
                privateDnsName: fact.privateDnsName,
                privateIp: fact.privateIp,
                cluster: fact.cluster,
              },
      };
      const refusal = verifyLeaveRequest(cluster, request, facts);
      const ageMs = deps.clock.nowMs() - Date.parse(request.requestedAt);
      const lagging = group !== undefined && !isTerminating(group.lifecycleState);
      if (refusal !== undefined && lagging && ageMs < VERIFY_GRACE_MS) {
        logger.info(
          { ...named, reason: refusal },
          'not acting on this leave request yet: checking again next run',
        );
        return { ...named, outcome: 'waiting', detail: refusal };
      }
      const by = identity.instance.instanceId;
      const claimed = await store.claim(
        cluster,
        request.instanceId,
        {
          by,
          at: new Date(deps.clock.nowMs()).toISOString(),
          staleBefore: new Date(deps.clock.nowMs() - STALE_CLAIM_MS).toISOString(),
        },
        signal,
      );
      if (!claimed) return { ...named, outcome: 'taken', detail: 'another control-plane member has it' };
      const finish = async (
        outcome: 'done' | 'refused' | 'failed',
        detail: string,
      ): Promise<HandledRequest> => {
        await store.finish(
          cluster,
          request.instanceId,
          { by, state: outcome, at: new Date(deps.clock.nowMs()).toISOString(), detail },
          signal,
        );
        return { ...named, outcome, detail };
      };
      if (refusal !== undefined) {
        logger.warn({ ...named, reason: refusal }, 'refused a leave request: not draining that node');
        return finish('refused', refusal);
      }
      try {
        const drained = await drainNode(ctx, request.nodeName, drainTimeoutMs(request));
        const deleted = await deleteNode(ctx, request.nodeName);
        const detail = [drained, deleted]
          .map((part) => (typeof part === 'string' ? part : part.skipped))
          .join('; ');
        logger.info({ ...named }, `drained for the leaving worker: ${detail}`);
        return await finish('done', detail);
      } catch (error) {
        if (signal.aborted) throw error;
        const message = error instanceof Error ? error.message : String(error);
        logger.error({ ...named, err: error }, `could not drain the leaving worker: ${message}`);
        return finish('failed', message);
      }
    };
    // Each request on its own: one that cannot be checked does not hold up the others' drains.
    const settled = await Promise.allSettled(pending.map(handle));
    state.set({ handled: settled.flatMap((one) => (one.status === 'fulfilled' ? [one.value] : [])) });
    const failed = settled.find((one): one is PromiseRejectedResult => one.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return undefined;
  },
};

const forgetFinished: ControllerStep = {
  name: 'forget-finished',
  kind: 'change',
  describe: () => `remove leave requests finished more than ${formatDurationMs(FORGET_AFTER_MS)} ago`,
  skip: (state, deps) =>
    oldFinished(state.get('finished'), deps.clock.nowMs()).length === 0 ? 'none to forget' : undefined,
  noUndo: 'their workers read them long ago and are gone',
  async run({ state, deps, signal }) {
    const cluster = state.get('identity').clusterName;
    const store = await deps.leaveRequests();
    const old = oldFinished(state.get('finished'), deps.clock.nowMs());
    for (const request of old) await store.remove(cluster, request.instanceId, signal);
    state.set({ forgotten: old.length });
    return undefined;
  },
};

function oldFinished(finished: readonly LeaveRequest[], nowMs: number): LeaveRequest[] {
  return finished.filter((request) => Date.parse(request.finishedAt ?? '') < nowMs - FORGET_AFTER_MS);
}

/** The worker's drain deadline, within the bounds `--drain-timeout` accepts (a request is untrusted). */
export function drainTimeoutMs(request: LeaveRequest): number {
  const { minMs, maxMs } = boundsOf('--drain-timeout');
  const asked = request.drainTimeoutSeconds * 1000;
  return Number.isFinite(asked) ? Math.min(Math.max(asked, minMs), maxMs) : minMs;
}

export const leaveControllerFlow: Flow<LeaveControllerState, LeaveControllerDeps, LeaveControllerResult> = {
  name: 'leave-controller',
  steps: [
    identityStep<LeaveControllerState>(
      'leave-controller',
      'control-plane',
      'kboot leave-controller runs on control-plane members; a worker leaves with kboot leave',
    ),
    adminConf,
    readRequests,
    drainRequested,
    forgetFinished,
  ],
  result(state, run) {
    const base = state.get('base');
    if (run.ended !== undefined) {
      return { ...base, outcome: 'handled', requests: [], forgotten: 0, summary: run.ended };
    }
    if (run.dryRun) {
      const pending = state.get('pending');
      return {
        ...base,
        outcome: 'planned',
        requests: pending.map((request) => ({
          instanceId: request.instanceId,
          nodeName: request.nodeName,
          outcome: 'planned' as const,
          detail: 'dry run: nothing changed',
        })),
        forgotten: 0,
        summary: `dry run: ${pending.length} pending leave request(s); nothing changed`,
      };
    }
    const handled = state.peek('handled') ?? [];
    const count = (outcome: RequestOutcome) => handled.filter((h) => h.outcome === outcome).length;
    const summary =
      handled.length === 0
        ? 'no pending leave request'
        : `leave requests: ${count('done')} drained, ${count('refused')} refused, ${count('failed')} failed, ${count('waiting') + count('taken')} left for later or another master`;
    return {
      ...base,
      outcome: 'handled',
      requests: handled,
      forgotten: state.peek('forgotten') ?? 0,
      summary,
    };
  },
};
