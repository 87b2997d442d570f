/** What the leave flow's steps share: its options and dependencies, its state and its result. */

import type { EtcdMember, EtcdMembership } from '../../etcd/members.js';
import type { Identity } from '../../identity/resolve.js';
import type { Heartbeat } from '../../leave/heartbeat.js';
import type { LifecycleActionRef, LifecycleActions } from '../../leave/lifecycle.js';
import type { LeaveRequestStore } from '../../leave/request.js';
import type { KubectlRunner } from '../../ports/kubectl.js';
import type { MemberRemover } from '../../state/cluster-store.js';
import type { Step } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';

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
  /**
   * A master's etcd snapshot before its member goes (flows/etcd-snapshot.ts with --force; the
   * outcome `no-bucket` when backup is not configured). Absent: no snapshot.
   */
  snapshotEtcd?(signal: AbortSignal): Promise<{ outcome: string; summary: string }>;
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

export interface Leaving {
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

export type LeaveStep = Step<LeaveState, LeaveDeps>;

export interface FoundAction {
  ref: LifecycleActionRef;
  heartbeatTimeoutSeconds: number;
}
