/**
 * A worker's leave, which holds no Kubernetes credential: a leave request in the state table,
 * then wait until a control-plane member drained the node and deleted its Node
 * (flows/leave-controller.ts) or the drain deadline passed.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { ClusterTimeoutError, KubectlError, StateConflictError } from '../../../core/errors.js';
import type { LeaveRequest } from '../../leave/request.js';
import type { FlowState } from '../../steps/state.js';
import { bestEffort, workersOnly } from './report.js';
import type { LeaveState, Leaving } from './types.js';

/**
 * How long a worker waits for the control plane beyond its drain deadline: the controller's timer
 * period (10 s), its checks, and the Node delete.
 */
export const CONTROLLER_MARGIN_MS = 60_000;

export const leaveRequestStep = bestEffort({
  name: 'leave-request',
  describe: (leaving) =>
    `ask the control plane to drain node ${leaving.nodeName}: write the leave request of ${leaving.identity.instance.instanceId} in the state table (cluster ${leaving.cluster})`,
  skip: workersOnly,
  noUndo: 'the instance is being terminated; the control plane forgets finished requests',
  run: (leaving, state) => requestLeave(leaving, state),
});

export const drainedByControlPlane = bestEffort({
  name: 'wait-for-drain',
  describe: (leaving) =>
    `wait until a control-plane member drained node ${leaving.nodeName} and deleted its Node (deadline ${formatDurationMs(leaving.options.drainTimeoutMs + CONTROLLER_MARGIN_MS)}, then go on)`,
  skip: workersOnly,
  noUndo: 'it only reads the request until the control plane finished it',
  run: (leaving) => waitForDrain(leaving),
});

/**
 * Writes this worker's leave request; a re-run finds it: done (nothing to wait for), or still
 * pending or being drained (wait for it).
 */
async function requestLeave(
  leaving: Leaving,
  state: FlowState<LeaveState>,
): Promise<string | { skipped: string }> {
  const { deps, cluster, identity, nodeName, options } = leaving;
  const instanceId = identity.instance.instanceId;
  const store = await deps.leaveRequests();
  const existing = await store.read(cluster, instanceId, leaving.signal);
  if (existing?.state === 'done') {
    leaving.request = 'done';
    return { skipped: `the control plane already drained node ${nodeName}: ${existing.detail ?? 'done'}` };
  }
  const action = state.peek('action');
  const written = await store.put(
    cluster,
    {
      instanceId,
      nodeName,
      privateIp: identity.instance.privateIpv4,
      drainTimeoutSeconds: Math.ceil(options.drainTimeoutMs / 1000),
      requestedAt: new Date(deps.clock.nowMs()).toISOString(),
      ...(action === undefined ? {} : { groupName: action.ref.groupName, hookName: action.ref.hookName }),
    },
    leaving.signal,
  );
  leaving.request = 'wait';
  if (written === 'written') return `asked the control plane to drain node ${nodeName}`;
  return {
    skipped: `a leave request of ${instanceId} is already ${written.state ?? 'pending'}: waiting for it`,
  };
}

/** Polls the request until the control plane finished it, or the drain deadline plus a margin passed. */
async function waitForDrain(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps, cluster, identity, nodeName, options } = leaving;
  if (leaving.request === 'done') return { skipped: 'the control plane already drained this node' };
  if (leaving.request === undefined)
    return { skipped: 'no leave request was written (see the leave-request step)' };
  const instanceId = identity.instance.instanceId;
  const store = await deps.leaveRequests();
  const waitMs = options.drainTimeoutMs + CONTROLLER_MARGIN_MS;
  const deadline = deps.clock.nowMs() + waitMs;
  let last: LeaveRequest | undefined;
  for (;;) {
    let read = false;
    try {
      last = await store.read(cluster, instanceId, leaving.signal);
      read = true;
    } catch (error) {
      if (leaving.signal.aborted) throw error;
      deps.logger.warn({ err: error }, 'could not read the leave request; trying again');
    }
    if (!read) {
      // try again at the next poll
    } else if (last?.state === 'done') {
      return `a control-plane member (${last.claimedBy ?? 'unknown'}) drained node ${nodeName}: ${last.detail ?? 'done'}`;
    } else if (last?.state === 'refused') {
      throw new StateConflictError(
        `the control plane refused to drain node ${nodeName}: ${last.detail ?? ''}`,
        {
          hint: 'kboot leave-controller drains only instances Auto Scaling is terminating (Terminating:Wait) or EC2 is shutting down; the kubelet still evicts the pods at shutdown (shutdownGracePeriod)',
        },
      );
    } else if (last?.state === 'failed') {
      throw new KubectlError(`the control plane could not drain node ${nodeName}: ${last.detail ?? ''}`, {
        hint: 'see journalctl -u kboot-leave-controller on the masters; the kubelet still evicts the pods at shutdown',
      });
    } else if (last === undefined) {
      throw new StateConflictError(`the leave request of ${instanceId} is gone from the state table`, {
        hint: 'something deleted it before a control-plane member finished it; the kubelet still evicts the pods at shutdown',
      });
    }
    const leftMs = deadline - deps.clock.nowMs();
    if (leftMs <= 0) break;
    await deps.clock.sleepMs(Math.min(deps.settings.pollMs, leftMs), leaving.signal);
  }
  throw new ClusterTimeoutError(
    `no control-plane member drained node ${nodeName} within ${formatDurationMs(waitMs)} (request ${last?.state ?? 'pending'})`,
    {
      hint: 'check kboot-leave-controller.timer on the masters (systemctl status kboot-leave-controller.timer); the kubelet still evicts the pods at shutdown (shutdownGracePeriod)',
    },
  );
}
