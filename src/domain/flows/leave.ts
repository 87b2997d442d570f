/**
 * `kboot leave`: an instance that is being terminated leaves the cluster cleanly.
 *   identity → node name → Auto Scaling group and kboot's termination hook (none: say so, skip
 *   the lifecycle steps) → heartbeats in the background → kubeconfig (a master: a 0600 copy of
 *   admin.conf, kept across `kubeadm reset`; a worker: the node-leave credential from Secrets
 *   Manager, never admin credentials) → drain (evictions respect PodDisruptionBudgets; at the
 *   deadline, log what is left and go on) → a master: remove its own etcd member (never when
 *   quorum would be lost) → `kubeadm reset -f` (its remove-etcd-member phase skipped: kboot did
 *   that, with the quorum check) → delete the Node → a master: its member record → stop the
 *   heartbeats → complete the lifecycle action (CONTINUE).
 * Every step checks before acting, so a re-run after a partial leave does what is left. A failing
 * step is logged and the next ones still run, and the lifecycle action is completed whatever
 * failed (the instance is terminated either way; making Auto Scaling wait for the hook's
 * timeout would only delay it); the exit code is then the first failure's.
 */

import type { KubectlRunner } from '../../adapters/process/kubectl.js';
import { formatDurationMs } from '../../core/duration.js';
import { KubectlError, StateConflictError } from '../../core/errors.js';
import type { EtcdMember, EtcdMembership } from '../etcd/members.js';
import type { Identity } from '../identity/resolve.js';
import { nodeLeaveSecretId } from '../join/secret-ids.js';
import { planSelfRemoval } from '../leave/etcd-self-removal.js';
import { type Heartbeat, heartbeatIntervalMs, startHeartbeat } from '../leave/heartbeat.js';
import type { LifecycleActionRef, LifecycleActions } from '../leave/lifecycle.js';
import type { NodeLeaveStore } from '../leave/node-leave-store.js';
import type { MemberRemover } from '../state/cluster-store.js';
import type { FlowDeps } from './deps.js';
import { ADMIN_CONF_PATH } from './paths.js';
import type { Steps } from './steps.js';

const LEAVE_DIR = '/var/lib/kboot/leave';
/** A master's copy of admin.conf: `kubeadm reset` deletes admin.conf before the Node is deleted. */
const LEAVE_ADMIN_CONF_PATH = `${LEAVE_DIR}/admin.conf`;
/** A worker's node-leave kubeconfig, fetched from Secrets Manager for this run only. */
const LEAVE_NODE_KUBECONFIG_PATH = `${LEAVE_DIR}/node-leave.conf`;

/** kubeadm's static pod manifest of the stacked etcd member; `kubeadm reset` removes it. */
const ETCD_MANIFEST_PATH = '/etc/kubernetes/manifests/etcd.yaml';
const KUBECTL_TIMEOUT_MS = 60_000;
const KUBEADM_RESET_TIMEOUT_MS = 5 * 60_000;
/** kubectl's answer for a Node that does not exist. */
const NOT_FOUND = /NotFound|not found/;
/** kubectl drain's answer at its --timeout. */
const DRAIN_DEADLINE = /global timeout reached|timed out/i;

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
  /** Where workers read `kboot/<cluster>/node-leave`. */
  nodeLeaveStore(): Promise<NodeLeaveStore>;
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
  steps: Steps;
  options: LeaveOptions;
  identity: Identity;
  cluster: string;
  nodeName: string;
  controlPlane: boolean;
  reports: LeaveStepReport[];
  failures: { step: string; error: unknown }[];
  /** The kubeconfig kubectl uses (resolved path), or why there is none. */
  kubeconfig: { path: string } | { missing: string };
}

function report(leaving: Leaving, step: string, outcome: StepOutcome, detail: string): void {
  leaving.reports.push({ step, outcome, detail });
  const log = leaving.deps.logger;
  if (outcome === 'failed') log.error({ step }, detail);
  else log.info({ step, outcome }, detail);
}

/** Runs one step of the leave; a failure is recorded and the leave goes on. */
async function attempt(
  leaving: Leaving,
  step: string,
  description: string,
  run: () => Promise<string | { skipped: string }>,
): Promise<void> {
  if (leaving.steps.dryRun) {
    await leaving.steps.change(step, description, async () => undefined);
    leaving.reports.push({ step, outcome: 'planned', detail: description });
    return;
  }
  try {
    const outcome = await leaving.steps.change(step, description, run);
    if (outcome === undefined) return;
    if (typeof outcome === 'string') report(leaving, step, 'done', outcome);
    else report(leaving, step, 'skipped', outcome.skipped);
  } catch (error) {
    if (leaving.deps.signal.aborted) throw error;
    leaving.failures.push({ step, error });
    const message = error instanceof Error ? error.message : String(error);
    report(leaving, step, 'failed', `${step} failed: ${message}`);
  }
}

export async function leave(deps: LeaveDeps, steps: Steps, options: LeaveOptions): Promise<LeaveResult> {
  const { logger } = deps;
  const identity = await steps.read('identity', () => deps.identity());
  const nodeName = await steps.read('node-name', () => deps.privateDnsName());
  const instanceId = identity.instance.instanceId;
  const leaving: Leaving = {
    deps,
    steps,
    options,
    identity,
    cluster: identity.clusterName,
    nodeName,
    controlPlane: identity.role === 'control-plane',
    reports: [],
    failures: [],
    kubeconfig: { missing: 'the kubeconfig step failed' },
  };

  const action = await steps.read('lifecycle-action', () => findLifecycleActionOrGoOn(leaving));
  let heartbeat: Heartbeat | undefined;
  if (action !== undefined && !steps.dryRun) {
    const lifecycle = await deps.lifecycle();
    const intervalMs = options.heartbeatIntervalMs ?? heartbeatIntervalMs(action.heartbeatTimeoutSeconds);
    logger.info(
      { every: formatDurationMs(intervalMs) },
      'recording lifecycle action heartbeats in the background while leaving',
    );
    heartbeat = startHeartbeat({
      intervalMs,
      clock: deps.clock,
      logger,
      beat: (signal) => lifecycle.recordHeartbeat(action.ref, signal),
    });
  }

  try {
    await attempt(leaving, 'kubeconfig', kubeconfigDescription(leaving), () => prepareKubeconfig(leaving));
    await attempt(
      leaving,
      'drain',
      `cordon and drain node ${nodeName} (evictions respect PodDisruptionBudgets; deadline ${formatDurationMs(options.drainTimeoutMs)}, then go on)`,
      () => drain(leaving),
    );
    if (leaving.controlPlane) {
      await attempt(
        leaving,
        'etcd-member',
        `remove this master's etcd member ${nodeName} (not if the others could not keep quorum)`,
        () => removeOwnEtcdMember(leaving),
      );
    }
    await attempt(leaving, 'kubeadm-reset', resetDescription(leaving), () => kubeadmReset(leaving));
    await attempt(leaving, 'delete-node', `delete the Node object ${nodeName}`, () => deleteNode(leaving));
    if (leaving.controlPlane) {
      await attempt(
        leaving,
        'member-record',
        `remove member record ${instanceId} of cluster ${leaving.cluster} from the state table`,
        async () => {
          await (await deps.members()).removeMember(leaving.cluster, instanceId, deps.signal);
          return `removed the member record of ${instanceId}`;
        },
      );
    }
  } finally {
    if (heartbeat !== undefined) {
      await heartbeat.stop();
      logger.info({ heartbeats: heartbeat.sent }, 'stopped lifecycle action heartbeats');
    }
  }

  if (action === undefined) {
    leaving.reports.push({
      step: 'complete-lifecycle-action',
      outcome: 'skipped',
      detail: 'no lifecycle action to complete',
    });
  } else {
    await attempt(
      leaving,
      'complete-lifecycle-action',
      `complete lifecycle action ${action.ref.hookName} of Auto Scaling group ${action.ref.groupName} with CONTINUE`,
      async () => {
        const outcome = await (await deps.lifecycle()).complete(action.ref, 'CONTINUE', deps.signal);
        return outcome === 'completed'
          ? `completed lifecycle action ${action.ref.hookName} (CONTINUE): Auto Scaling terminates the instance`
          : {
              skipped: `no lifecycle action of hook ${action.ref.hookName} is waiting (already completed, or timed out)`,
            };
      },
    );
  }
  await cleanUpKubeconfig(leaving);

  const base = {
    flow: 'leave' as const,
    cluster: leaving.cluster,
    role: identity.role,
    instanceId,
    nodeName,
    autoScalingGroup: action?.ref.groupName ?? null,
    lifecycleHook: action?.ref.hookName ?? null,
    heartbeats: heartbeat?.sent ?? 0,
    steps: leaving.reports,
  };
  if (steps.dryRun) return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
  const first = leaving.failures[0];
  if (first !== undefined) {
    const failed = leaving.failures.map((failure) => failure.step).join(', ');
    logger.error({ failedSteps: failed }, `left cluster ${leaving.cluster} with failures in: ${failed}`);
    throw first.error;
  }
  return {
    ...base,
    outcome: 'left',
    summary: `${nodeName} left cluster ${leaving.cluster}${action === undefined ? '' : `; lifecycle action of ${action.ref.groupName} completed`}`,
  };
}

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
    if (leaving.deps.signal.aborted) throw error;
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
  const group = await lifecycle.findGroup(instanceId, deps.signal);
  if (group === undefined) {
    deps.logger.info(
      { instanceId },
      'this instance is in no Auto Scaling group: no lifecycle action to record heartbeats for or complete',
    );
    return undefined;
  }
  const hook = await lifecycle.findHook(group.groupName, options.hookName, deps.signal);
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

function kubeconfigDescription(leaving: Leaving): string {
  return leaving.controlPlane
    ? `copy ${ADMIN_CONF_PATH} to ${LEAVE_ADMIN_CONF_PATH} (0600), which kubeadm reset keeps`
    : `write the node-leave kubeconfig from Secrets Manager to ${LEAVE_NODE_KUBECONFIG_PATH} (0600)`;
}

async function prepareKubeconfig(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps, cluster } = leaving;
  if (leaving.controlPlane) {
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
  const secret = await (await deps.nodeLeaveStore()).read(cluster);
  if (secret === undefined) {
    throw new StateConflictError(
      `secret ${nodeLeaveSecretId(cluster)} does not exist, so this worker cannot drain itself`,
      {
        hint: 'the first master publishes it at init and kboot rotate on the control-plane instances publishes it again: run kboot rotate on a master, and check that its timer runs (systemctl status kboot-rotate.timer)',
      },
    );
  }
  if (Date.parse(secret.expiresAt) <= deps.clock.nowMs()) {
    throw new StateConflictError(
      `the node-leave credential of cluster ${cluster} expired at ${secret.expiresAt}`,
      {
        hint: 'kboot rotate on the control-plane instances renews it: check that its timer runs (systemctl status kboot-rotate.timer)',
      },
    );
  }
  await deps.fs.writePrivateFile(LEAVE_NODE_KUBECONFIG_PATH, secret.kubeconfig.reveal());
  leaving.kubeconfig = { path: deps.fs.resolve(LEAVE_NODE_KUBECONFIG_PATH) };
  return `wrote the node-leave kubeconfig (expires ${secret.expiresAt})`;
}

function kubeconfigPath(leaving: Leaving, step: string): string {
  if ('path' in leaving.kubeconfig) return leaving.kubeconfig.path;
  throw new KubectlError(`cannot ${step}: no kubeconfig (${leaving.kubeconfig.missing})`, {
    hint: leaving.controlPlane
      ? 'delete the Node by hand from another master: kubectl delete node NAME'
      : "see the kubeconfig step's error above; the node-leave credential is published at init and renewed by kboot rotate on the masters",
  });
}

async function kubectl(leaving: Leaving, args: string[], timeoutMs = KUBECTL_TIMEOUT_MS): Promise<string> {
  const { deps } = leaving;
  const result = await deps.kubectl.run(args, {
    kubeconfigPath: kubeconfigPath(leaving, `run kubectl ${args[0]}`),
    timeoutMs,
    signal: deps.signal,
  });
  return result.stdout;
}

/** True when the Node exists; false when the API server says it does not. */
async function nodeExists(leaving: Leaving): Promise<boolean> {
  try {
    await kubectl(leaving, ['get', 'node', leaving.nodeName, '-o', 'name']);
    return true;
  } catch (error) {
    if (error instanceof KubectlError && NOT_FOUND.test(error.message)) return false;
    throw error;
  }
}

/** Why the Kubernetes steps cannot run (the kubeconfig step said, or failed), or undefined. */
function noKubeconfig(leaving: Leaving): { skipped: string } | undefined {
  if ('path' in leaving.kubeconfig) return undefined;
  return { skipped: `no kubeconfig: ${leaving.kubeconfig.missing}` };
}

async function drain(leaving: Leaving): Promise<string | { skipped: string }> {
  const { nodeName, options, deps } = leaving;
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  if (!(await nodeExists(leaving))) return { skipped: `Node ${nodeName} does not exist: nothing to drain` };
  const timeoutSeconds = Math.ceil(options.drainTimeoutMs / 1000);
  try {
    await kubectl(
      leaving,
      [
        'drain',
        nodeName,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        // Pods without a controller would block the drain until the deadline; the instance and
        // they are going anyway. They are evicted like the others (PodDisruptionBudgets hold).
        '--force',
        `--timeout=${timeoutSeconds}s`,
      ],
      options.drainTimeoutMs + 30_000,
    );
    return `drained node ${nodeName}`;
  } catch (error) {
    if (!(error instanceof KubectlError) || !DRAIN_DEADLINE.test(error.message)) throw error;
  }
  const left = await podsLeft(leaving);
  deps.logger.warn(
    { node: nodeName, podsLeft: left },
    `the drain deadline (${formatDurationMs(options.drainTimeoutMs)}) passed with ${left.length} pod(s) still on the node; going on, as the instance is being terminated anyway`,
  );
  return `drain deadline passed with ${left.length} pod(s) left: ${left.join(', ') || 'none listed'}`;
}

async function podsLeft(leaving: Leaving): Promise<string[]> {
  try {
    const out = await kubectl(leaving, [
      'get',
      'pods',
      '--all-namespaces',
      '--field-selector',
      `spec.nodeName=${leaving.nodeName}`,
      '-o',
      'custom-columns=POD:.metadata.namespace,NAME:.metadata.name',
      '--no-headers',
    ]);
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/).join('/'))
      .filter((line) => line !== '');
  } catch (error) {
    leaving.deps.logger.warn({ err: error }, 'could not list the pods left on the node');
    return [];
  }
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
  const members = await etcd.list(deps.signal);
  const self = { nodeName, privateIp: identity.instance.privateIpv4 };
  const alive = new Set<string>();
  for (const member of members) {
    const up =
      etcd.probe === undefined ? member.clientUrls.length > 0 : (await etcd.probe(member, deps.signal)).alive;
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
  await via.remove(plan.member.id, deps.signal);
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
  await deps.kubeadm.run(resetArgs(leaving), { timeoutMs: KUBEADM_RESET_TIMEOUT_MS, signal: deps.signal });
  return `ran kubeadm ${resetArgs(leaving).join(' ')}`;
}

async function deleteNode(leaving: Leaving): Promise<string | { skipped: string }> {
  const { nodeName } = leaving;
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  const out = await kubectl(leaving, ['delete', 'node', nodeName, '--ignore-not-found']);
  return out.trim() === '' ? { skipped: `Node ${nodeName} was already gone` } : `deleted Node ${nodeName}`;
}

/** A worker's credential goes at once; a master keeps its admin.conf copy until a leave succeeds. */
async function cleanUpKubeconfig(leaving: Leaving): Promise<void> {
  if (leaving.steps.dryRun) return;
  const { fs, logger } = leaving.deps;
  try {
    await fs.remove(LEAVE_NODE_KUBECONFIG_PATH);
    if (leaving.failures.length === 0) await fs.remove(LEAVE_ADMIN_CONF_PATH);
  } catch (error) {
    logger.warn({ err: error }, `could not remove the kubeconfig copies under ${LEAVE_DIR}`);
  }
}
