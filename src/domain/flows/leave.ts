/**
 * `kboot leave`: an instance that is being terminated leaves the cluster cleanly.
 *   identity → node name → Auto Scaling group and kboot's termination hook (none: say so, skip
 *   the lifecycle steps) → heartbeats in the background → a master: a 0600 copy of admin.conf,
 *   kept across `kubeadm reset`, then its own drain (evictions respect PodDisruptionBudgets; at
 *   the deadline, log what is left and go on); a worker, which holds no Kubernetes credential: a
 *   leave request in the state table, then wait until a control-plane member drained the node
 *   and deleted its Node (flows/leave-controller.ts) or the drain deadline passed → a master:
 *   remove its own etcd member (never when quorum would be lost) → `kubeadm reset -f` (a master's
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

import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError, KubectlError, StateConflictError } from '../../core/errors.js';
import type { EtcdMember, EtcdMembership } from '../etcd/members.js';
import type { Identity } from '../identity/resolve.js';
import { deleteNode as deleteNodeObject, drainNode, type NodeKubectl } from '../leave/drain.js';
import { planSelfRemoval } from '../leave/etcd-self-removal.js';
import { type Heartbeat, heartbeatIntervalMs, startHeartbeat } from '../leave/heartbeat.js';
import type { LifecycleActionRef, LifecycleActions } from '../leave/lifecycle.js';
import type { LeaveRequest, LeaveRequestStore } from '../leave/request.js';
import type { KubectlRunner } from '../ports/kubectl.js';
import type { MemberRemover } from '../state/cluster-store.js';
import type { FlowState } from '../steps/state.js';
import type { Flow, Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';
import { ADMIN_CONF_PATH } from './paths.js';

const LEAVE_DIR = '/var/lib/kboot/leave';
/** A master's copy of admin.conf: `kubeadm reset` deletes admin.conf before the Node is deleted. */
const LEAVE_ADMIN_CONF_PATH = `${LEAVE_DIR}/admin.conf`;
/**
 * How long a worker waits for the control plane beyond its drain deadline: the controller's timer
 * period (10 s), its checks, and the Node delete.
 */
export const CONTROLLER_MARGIN_MS = 60_000;

/** kubeadm's static pod manifest of the stacked etcd member; `kubeadm reset` removes it. */
const ETCD_MANIFEST_PATH = '/etc/kubernetes/manifests/etcd.yaml';
const KUBEADM_RESET_TIMEOUT_MS = 5 * 60_000;

export interface LeaveOptions {
  hookName: string;
  drainTimeoutMs: number;
  /** The lifecycle action token, when the trigger knows it; else the action is named by instance id. */
  lifecycleActionToken?: string;
  /** Default: a third of the hook's heartbeat timeout. */
  heartbeatIntervalMs?: number;
}

export interface LeaveDeps extends FlowDeps {
  kubectl: KubectlRunner;
  lifecycle(): Promise<LifecycleActions>;
  /**
   * etcd at its default endpoints (the local member), or at `endpoints`. With `probe` (the etcd
   * adapter has it), the quorum check asks each member whether it is up.
   */
  etcd(
    endpoints?: readonly string[],
  ): Promise<
    EtcdMembership & { probe?(member: EtcdMember, signal?: AbortSignal): Promise<{ alive: boolean }> }
  >;
  members(): Promise<MemberRemover>;
  /** Where a worker asks the control plane to drain it (flows/leave-controller.ts acts on it). */
  leaveRequests(): Promise<LeaveRequestStore>;
}

export type StepOutcome = 'done' | 'skipped' | 'failed' | 'planned';

export interface LeaveStepReport {
  step: string;
  outcome: StepOutcome;
  detail: string;
}

export interface LeaveResult {
  flow: 'leave';
  /** A leave with a failed step throws that step's error (after completing the lifecycle action). */
  outcome: 'left' | 'planned';
  cluster: string;
  role: string;
  instanceId: string;
  nodeName: string;
  autoScalingGroup: string | null;
  lifecycleHook: string | null;
  heartbeats: number;
  steps: LeaveStepReport[];
  summary: string;
}

interface Leaving {
  deps: LeaveDeps;
  options: LeaveOptions;
  dryRun: boolean;
  identity: Identity;
  cluster: string;
  nodeName: string;
  controlPlane: boolean;
  reports: LeaveStepReport[];
  failures: { step: string; error: unknown }[];
  /** The kubeconfig kubectl uses (resolved path; masters only), or why there is none. */
  kubeconfig: { path: string } | { missing: string };
  /** A worker's leave request: already done by the control plane (a re-run), or waited for. */
  request: 'done' | 'wait' | undefined;
  /** Set signal of the running step. */
  signal: AbortSignal;
}

export interface LeaveState {
  leaving: Leaving;
  action: FoundAction | undefined;
  heartbeat: Heartbeat | undefined;
  /** Set by the edge. */
  options: LeaveOptions;
}

type LeaveStep = Step<LeaveState, LeaveDeps>;

function report(leaving: Leaving, step: string, outcome: StepOutcome, detail: string): void {
  leaving.reports.push({ step, outcome, detail });
  const log = leaving.deps.logger;
  if (outcome === 'failed') log.error({ step }, detail);
  else log.info({ step, outcome }, detail);
}

/**
 * A leave step: runs `run`, records what it did (done, skipped and why); a failure is recorded and
 * the leave goes on — unless the flow was stopped, which ends it.
 */
function bestEffort(spec: {
  name: string;
  describe: (leaving: Leaving) => string;
  skip?: (state: FlowState<LeaveState>) => string | undefined;
  noUndo: string;
  run: (leaving: Leaving, state: FlowState<LeaveState>) => Promise<string | { skipped: string }>;
}): LeaveStep {
  return {
    name: spec.name,
    kind: 'change',
    describe: (state) => spec.describe(state.get('leaving')),
    ...(spec.skip === undefined
      ? {}
      : {
          // The runner asks once, just before the step would run: the result says why too.
          skip: (state: FlowState<LeaveState>) => {
            const why = spec.skip?.(state);
            if (why !== undefined) report(state.get('leaving'), spec.name, 'skipped', why);
            return why;
          },
        }),
    noUndo: spec.noUndo,
    async run({ state, signal }) {
      const leaving = state.get('leaving');
      leaving.signal = signal;
      try {
        const outcome = await spec.run(leaving, state);
        if (typeof outcome === 'string') report(leaving, spec.name, 'done', outcome);
        else report(leaving, spec.name, 'skipped', outcome.skipped);
      } catch (error) {
        if (signal.aborted) throw error;
        leaving.failures.push({ step: spec.name, error });
        const message = error instanceof Error ? error.message : String(error);
        report(leaving, spec.name, 'failed', `${spec.name} failed: ${message}`);
      }
      return undefined;
    },
  };
}

const identityStep: LeaveStep = {
  name: 'identity',
  kind: 'read',
  describe: () => 'read who this instance is (IMDS) and its node name',
  async run({ state, deps, signal }) {
    const identity = await deps.identity();
    const nodeName = await deps.privateDnsName();
    state.set({
      leaving: {
        deps,
        options: state.get('options'),
        dryRun: deps.settings.dryRun,
        identity,
        cluster: identity.clusterName,
        nodeName,
        controlPlane: identity.role === 'control-plane',
        reports: [],
        failures: [],
        kubeconfig: { missing: 'the kubeconfig step failed' },
        request: undefined,
        signal,
      },
    });
    return undefined;
  },
};

const lifecycleAction: LeaveStep = {
  name: 'lifecycle-action',
  kind: 'read',
  describe: () => "find the instance's Auto Scaling group and kboot's termination hook",
  async run({ state, signal }) {
    const leaving = state.get('leaving');
    leaving.signal = signal;
    state.set({ action: await findLifecycleActionOrGoOn(leaving) });
    return undefined;
  },
};

const heartbeats: LeaveStep = {
  name: 'heartbeats',
  kind: 'change',
  describe: () => 'record lifecycle action heartbeats in the background while leaving',
  skip: (state) => (state.get('action') === undefined ? 'no lifecycle action' : undefined),
  async run({ state, deps, logger }) {
    const action = state.get('action');
    if (action === undefined) return undefined;
    const lifecycle = await deps.lifecycle();
    const options = state.get('options');
    const intervalMs = options.heartbeatIntervalMs ?? heartbeatIntervalMs(action.heartbeatTimeoutSeconds);
    logger.info(
      { every: formatDurationMs(intervalMs) },
      'recording lifecycle action heartbeats in the background',
    );
    state.set({
      heartbeat: startHeartbeat({
        intervalMs,
        clock: deps.clock,
        logger,
        beat: (signal) => lifecycle.recordHeartbeat(action.ref, signal),
      }),
    });
    return undefined;
  },
  cleanup: {
    describe: 'stop the lifecycle action heartbeats',
    run: async ({ state }) => stopHeartbeats(state),
  },
};

async function stopHeartbeats(state: FlowState<LeaveState>): Promise<void> {
  const heartbeat = state.peek('heartbeat');
  if (heartbeat === undefined || heartbeat.stopped) return;
  await heartbeat.stop();
  state
    .get('leaving')
    .deps.logger.info({ heartbeats: heartbeat.sent }, 'stopped lifecycle action heartbeats');
}

/** Why a master-only step does nothing on a worker. */
const WORKER_HOLDS_NO_CREDENTIAL =
  'a worker holds no Kubernetes credential: a control-plane member drains it and deletes its Node';

const mastersOnly = (reason: string) => (state: FlowState<LeaveState>) =>
  state.get('leaving').controlPlane ? undefined : reason;
const workersOnly = (state: FlowState<LeaveState>) =>
  state.get('leaving').controlPlane ? 'a master drains itself with its own admin.conf' : undefined;

const kubeconfigStep: LeaveStep = {
  ...bestEffort({
    name: 'kubeconfig',
    describe: () => `copy ${ADMIN_CONF_PATH} to ${LEAVE_ADMIN_CONF_PATH} (0600), which kubeadm reset keeps`,
    skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
    noUndo: 'its cleanup removes the copy',
    run: (leaving) => prepareKubeconfig(leaving),
  }),
  noUndo: undefined,
  // A master keeps its admin.conf copy until a leave succeeds (a re-run after reset needs it).
  cleanup: {
    describe: `remove the admin.conf copy under ${LEAVE_DIR} once the leave succeeded`,
    run: async ({ state, deps }) => {
      const leaving = state.get('leaving');
      if (leaving.failures.length === 0) await deps.fs.remove(LEAVE_ADMIN_CONF_PATH);
    },
    removesSecrets: true,
  },
};

const leaveRequestStep = bestEffort({
  name: 'leave-request',
  describe: (leaving) =>
    `ask the control plane to drain node ${leaving.nodeName}: write the leave request of ${leaving.identity.instance.instanceId} in the state table (cluster ${leaving.cluster})`,
  skip: workersOnly,
  noUndo: 'the instance is being terminated; the control plane forgets finished requests',
  run: (leaving, state) => requestLeave(leaving, state),
});

const drainedByControlPlane = bestEffort({
  name: 'wait-for-drain',
  describe: (leaving) =>
    `wait until a control-plane member drained node ${leaving.nodeName} and deleted its Node (deadline ${formatDurationMs(leaving.options.drainTimeoutMs + CONTROLLER_MARGIN_MS)}, then go on)`,
  skip: workersOnly,
  noUndo: 'it only reads the request until the control plane finished it',
  run: (leaving) => waitForDrain(leaving),
});

const drainStep = bestEffort({
  name: 'drain',
  describe: (leaving) =>
    `cordon and drain node ${leaving.nodeName} (evictions respect PodDisruptionBudgets; deadline ${formatDurationMs(leaving.options.drainTimeoutMs)}, then go on)`,
  skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
  noUndo: 'the instance is being terminated: its pods are not brought back',
  run: (leaving) => drain(leaving),
});

const etcdMember = bestEffort({
  name: 'etcd-member',
  describe: (leaving) =>
    `remove this master's etcd member ${leaving.nodeName} (not if the others could not keep quorum)`,
  skip: (state) => (state.get('leaving').controlPlane ? undefined : 'a worker has no etcd member'),
  noUndo: 'the instance is being terminated: its member is not added back',
  run: (leaving) => removeOwnEtcdMember(leaving),
});

const kubeadmResetStep = bestEffort({
  name: 'kubeadm-reset',
  describe: resetDescription,
  noUndo: 'the instance is being terminated',
  run: (leaving) => kubeadmReset(leaving),
});

const deleteNodeStep = bestEffort({
  name: 'delete-node',
  describe: (leaving) => `delete the Node object ${leaving.nodeName}`,
  skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
  noUndo: 'the instance is being terminated',
  run: (leaving) => deleteNode(leaving),
});

const memberRecord = bestEffort({
  name: 'member-record',
  describe: (leaving) =>
    `remove member record ${leaving.identity.instance.instanceId} of cluster ${leaving.cluster} from the state table`,
  skip: (state) => (state.get('leaving').controlPlane ? undefined : 'a worker has no member record'),
  noUndo: 'the instance is being terminated',
  run: async (leaving) => {
    const instanceId = leaving.identity.instance.instanceId;
    await (await leaving.deps.members()).removeMember(leaving.cluster, instanceId, leaving.signal);
    return `removed the member record of ${instanceId}`;
  },
});

const stopHeartbeatsStep: LeaveStep = {
  name: 'stop-heartbeats',
  kind: 'change',
  describe: () => 'stop the lifecycle action heartbeats',
  skip: (state) => (state.get('action') === undefined ? 'no lifecycle action' : undefined),
  noUndo: 'nothing to undo',
  async run({ state }) {
    await stopHeartbeats(state);
    return undefined;
  },
};

const completeLifecycleAction = bestEffort({
  name: 'complete-lifecycle-action',
  describe: (leaving) =>
    `complete kboot's lifecycle action of ${leaving.identity.instance.instanceId} with CONTINUE`,
  noUndo: 'Auto Scaling terminates the instance: the last step',
  run: async (leaving, state) => {
    const action = state.get('action');
    if (action === undefined) return { skipped: 'no lifecycle action to complete' };
    const outcome = await (await leaving.deps.lifecycle()).complete(action.ref, 'CONTINUE', leaving.signal);
    return outcome === 'completed'
      ? `completed lifecycle action ${action.ref.hookName} (CONTINUE): Auto Scaling terminates the instance`
      : {
          skipped: `no lifecycle action of hook ${action.ref.hookName} is waiting (already completed, or timed out)`,
        };
  },
});

const outcomeStep: LeaveStep = {
  name: 'outcome',
  kind: 'read',
  describe: () => 'report the first failure, if any',
  async run({ state, logger }) {
    const leaving = state.get('leaving');
    const first = leaving.failures[0];
    if (first === undefined) return undefined;
    const failed = leaving.failures.map((failure) => failure.step).join(', ');
    logger.error({ failedSteps: failed }, `left cluster ${leaving.cluster} with failures in: ${failed}`);
    throw first.error;
  },
};

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

interface FoundAction {
  ref: LifecycleActionRef;
  heartbeatTimeoutSeconds: number;
}

/**
 * Auto Scaling unreachable or denied: the node still leaves the cluster (termination is coming
 * either way), and the exit code says what failed.
 */
async function findLifecycleActionOrGoOn(leaving: Leaving): Promise<FoundAction | undefined> {
  try {
    return await findLifecycleAction(leaving);
  } catch (error) {
    if (leaving.signal.aborted) throw error;
    leaving.failures.push({ step: 'lifecycle-action', error });
    const message = error instanceof Error ? error.message : String(error);
    report(
      leaving,
      'lifecycle-action',
      'failed',
      `could not find the lifecycle action (${message}); leaving the cluster without heartbeats or completion`,
    );
    return undefined;
  }
}

async function findLifecycleAction(leaving: Leaving): Promise<FoundAction | undefined> {
  const { deps, options, identity } = leaving;
  const instanceId = identity.instance.instanceId;
  const lifecycle = await deps.lifecycle();
  const group = await lifecycle.findGroup(instanceId, leaving.signal);
  if (group === undefined) {
    deps.logger.info(
      { instanceId },
      'this instance is in no Auto Scaling group: no lifecycle action to record heartbeats for or complete',
    );
    return undefined;
  }
  const hook = await lifecycle.findHook(group.groupName, options.hookName, leaving.signal);
  if (hook === undefined) {
    deps.logger.warn(
      { group: group.groupName, hook: options.hookName },
      `Auto Scaling group ${group.groupName} has no lifecycle hook ${options.hookName}: Auto Scaling does not wait for kboot leave (README: "Launch templates and Auto Scaling groups")`,
    );
    return undefined;
  }
  deps.logger.info(
    { group: group.groupName, hook: hook.name, lifecycleState: group.lifecycleState },
    'found the Auto Scaling lifecycle action',
  );
  return {
    ref: {
      groupName: group.groupName,
      hookName: hook.name,
      instanceId,
      ...(options.lifecycleActionToken === undefined ? {} : { token: options.lifecycleActionToken }),
    },
    heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
  };
}

async function prepareKubeconfig(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps } = leaving;
  const admin = await deps.fs.readText(ADMIN_CONF_PATH);
  if (admin !== undefined) {
    await deps.fs.writePrivateFile(LEAVE_ADMIN_CONF_PATH, admin);
    leaving.kubeconfig = { path: deps.fs.resolve(LEAVE_ADMIN_CONF_PATH) };
    return `copied ${ADMIN_CONF_PATH} to ${LEAVE_ADMIN_CONF_PATH}`;
  }
  if (await deps.fs.exists(LEAVE_ADMIN_CONF_PATH)) {
    leaving.kubeconfig = { path: deps.fs.resolve(LEAVE_ADMIN_CONF_PATH) };
    return {
      skipped: `${ADMIN_CONF_PATH} is gone (kubeadm reset ran); using the copy a previous leave kept`,
    };
  }
  leaving.kubeconfig = {
    missing: `${ADMIN_CONF_PATH} is gone and no earlier leave kept a copy (this master was reset: by a completed leave, or by hand)`,
  };
  return {
    skipped: `${leaving.kubeconfig.missing}; if its Node is still listed, delete it from another master`,
  };
}

/** kubectl with the master's admin.conf copy; throws when there is none. */
function nodeKubectl(leaving: Leaving, step: string): NodeKubectl {
  if (!('path' in leaving.kubeconfig)) {
    throw new KubectlError(`cannot ${step}: no kubeconfig (${leaving.kubeconfig.missing})`, {
      hint: 'delete the Node by hand from another master: kubectl delete node NAME',
    });
  }
  return {
    kubectl: leaving.deps.kubectl,
    kubeconfigPath: leaving.kubeconfig.path,
    logger: leaving.deps.logger,
    signal: leaving.signal,
  };
}

/** Why the Kubernetes steps cannot run (the kubeconfig step said, or failed), or undefined. */
function noKubeconfig(leaving: Leaving): { skipped: string } | undefined {
  if ('path' in leaving.kubeconfig) return undefined;
  return { skipped: `no kubeconfig: ${leaving.kubeconfig.missing}` };
}

async function drain(leaving: Leaving): Promise<string | { skipped: string }> {
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  return drainNode(nodeKubectl(leaving, 'drain'), leaving.nodeName, leaving.options.drainTimeoutMs);
}

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

async function removeOwnEtcdMember(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps, nodeName, identity } = leaving;
  if (!(await deps.fs.exists(ETCD_MANIFEST_PATH))) {
    // A re-run after kubeadm reset: the local etcd and its client certificate are gone.
    return {
      skipped: `no local etcd (${ETCD_MANIFEST_PATH} is gone: kubeadm reset ran); a member left behind is removed by the surviving masters' cleanup`,
    };
  }
  const etcd = await deps.etcd();
  const members = await etcd.list(leaving.signal);
  const self = { nodeName, privateIp: identity.instance.privateIpv4 };
  const alive = new Set<string>();
  for (const member of members) {
    const up =
      etcd.probe === undefined
        ? member.clientUrls.length > 0
        : (await etcd.probe(member, leaving.signal)).alive;
    if (up) alive.add(member.id);
  }
  const plan = planSelfRemoval(members, self, (member) => alive.has(member.id));
  if (plan.action === 'absent') return { skipped: `no etcd member of ${nodeName}: already removed` };
  if (plan.action === 'refuse') {
    deps.logger.warn(
      { member: plan.member.name, memberId: plan.member.id },
      `not removing this master's etcd member: ${plan.reason}; the surviving control plane's cleanup removes it once that is safe`,
    );
    return { skipped: `refused to remove etcd member ${plan.member.name}: ${plan.reason}` };
  }
  // Through the other members when they have client URLs: a member that applies its own removal
  // shuts down, and might do so before its answer reaches kboot.
  const peerUrls = members
    .filter((member) => member.id !== plan.member.id && alive.has(member.id))
    .flatMap((member) => member.clientUrls);
  const via = peerUrls.length > 0 ? await deps.etcd(peerUrls) : etcd;
  await via.remove(plan.member.id, leaving.signal);
  return `removed etcd member ${plan.member.name} (${plan.member.id}); ${plan.votersAfter} voting member(s) remain`;
}

function resetArgs(leaving: Leaving): string[] {
  // On a master kboot removed the etcd member itself (with the quorum check): kubeadm's own
  // remove-etcd-member phase would try again, and remove it even when quorum forbids.
  return leaving.controlPlane ? ['reset', '-f', '--skip-phases=remove-etcd-member'] : ['reset', '-f'];
}

function resetDescription(leaving: Leaving): string {
  return `run kubeadm ${resetArgs(leaving).join(' ')}`;
}

async function kubeadmReset(leaving: Leaving): Promise<string> {
  const { deps } = leaving;
  await deps.kubeadm.run(resetArgs(leaving), { timeoutMs: KUBEADM_RESET_TIMEOUT_MS, signal: leaving.signal });
  return `ran kubeadm ${resetArgs(leaving).join(' ')}`;
}

async function deleteNode(leaving: Leaving): Promise<string | { skipped: string }> {
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  return deleteNodeObject(nodeKubectl(leaving, 'delete the Node'), leaving.nodeName);
}
