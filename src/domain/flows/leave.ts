/**
 * `kboot leave`: an instance that is being terminated leaves the cluster cleanly.
 *   identity → node name → Auto Scaling group and kboot's termination hook (none: say so, skip
 *   the lifecycle steps) → heartbeats in the background → a master: a 0600 copy of admin.conf,
 *   kept across `kubeadm reset`, then its own drain (evictions respect PodDisruptionBudgets; at
 *   the deadline, log what is left and go on); a worker, which holds no Kubernetes credential: a
 *   leave request in the state table, then wait until a control-plane member drained the node
 *   and deleted its Node (flows/leave-controller.ts) or the drain deadline passed → a master with
 *   backup configured: an etcd snapshot (leave/snapshot.ts; a failure is logged, not fatal) → a
 *   master: remove its own etcd member (never when quorum would be lost) → `kubeadm reset -f` (a master's
 *   remove-etcd-member phase skipped: kboot did that, with the quorum check) → a master: delete
 *   its Node and its member record → stop the heartbeats → complete the lifecycle action
 *   (CONTINUE).
 * Every step checks before acting, so a re-run after a partial leave does what is left. A failing
 * step is logged and the next ones still run (each step here is `bestEffort`), and the lifecycle
 * action is completed whatever failed (the instance is terminated either way; making Auto Scaling
 * wait for the hook's timeout would only delay it); the last step then fails with the first
 * failure's error, so the exit code is its class. A stop (SIGTERM) ends the leave at once: the
 * heartbeats stop as the flow unwinds.
 */

import type { Flow } from '../steps/step.js';
import { identityStep } from './leave/identity.js';
import { deleteNodeStep, drainStep, kubeconfigStep } from './leave/kubernetes.js';
import {
  completeLifecycleAction,
  heartbeats,
  lifecycleAction,
  stopHeartbeatsStep,
} from './leave/lifecycle.js';
import { etcdMember, memberRecord } from './leave/membership.js';
import { outcomeStep } from './leave/report.js';
import { drainedByControlPlane, leaveRequestStep } from './leave/request.js';
import { kubeadmResetStep } from './leave/reset.js';
import { snapshotBeforeLeave } from './leave/snapshot.js';
import type { LeaveDeps, LeaveResult, LeaveState } from './leave/types.js';

export const leaveFlow: Flow<LeaveState, LeaveDeps, LeaveResult> = {
  name: 'leave',
  steps: [
    identityStep,
    lifecycleAction,
    heartbeats,
    kubeconfigStep,
    leaveRequestStep,
    drainedByControlPlane,
    drainStep,
    snapshotBeforeLeave,
    etcdMember,
    kubeadmResetStep,
    deleteNodeStep,
    memberRecord,
    stopHeartbeatsStep,
    completeLifecycleAction,
    outcomeStep,
  ],
  result(state, run) {
    const leaving = state.get('leaving');
    const action = state.peek('action');
    const instanceId = leaving.identity.instance.instanceId;
    const base = {
      flow: 'leave' as const,
      cluster: leaving.cluster,
      role: leaving.identity.role,
      instanceId,
      nodeName: leaving.nodeName,
      autoScalingGroup: action?.ref.groupName ?? null,
      lifecycleHook: action?.ref.hookName ?? null,
      heartbeats: state.peek('heartbeat')?.sent ?? 0,
      steps: leaving.reports,
    };
    if (run.dryRun) return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
    return {
      ...base,
      outcome: 'left',
      summary: `${leaving.nodeName} left cluster ${leaving.cluster}${action === undefined ? '' : `; lifecycle action of ${action.ref.groupName} completed`}`,
    };
  },
};
