/**
 * `kboot cleanup` (operators, on a control-plane member): remove the etcd members and delete the
 * Node objects of instances that are terminated or gone, with the same rules as the cleanup in
 * `kboot rotate` and before a control-plane join (src/domain/cleanup).
 *   identity (control-plane) → a member? → the plan (reads only: registry, EC2, etcd, Nodes) →
 *   the control-plane-join lease (waits for a joining master) → the removals → the lease released.
 */

import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError, IncompatibleError } from '../../core/errors.js';
import { runCleanup } from '../cleanup/flow.js';
import { type CleanupReport, needsCleanup, nothingRemoved } from '../cleanup/run.js';
import { describeHolder, type Lease, leaseLabel } from '../state/lease.js';
import { leaseStep } from '../steps/lease-step.js';
import type { Flow, Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';
import { readMembership } from './membership.js';
import { identityStep, type StartState } from './start-steps.js';

/** Lease length while removing members; renewed while it runs, so a dead holder frees it soon. */
const CLEANUP_COMMAND_LEASE_MS = 2 * 60_000;

export interface CleanupState extends StartState {
  /** How long to wait for a joining master to release the control-plane-join lease. */
  waitMs: number;
  plan: CleanupReport;
  lease: Lease;
  report: CleanupReport;
}

type CleanupStep = Step<CleanupState, FlowDeps>;

const requireMember: CleanupStep = {
  name: 'membership',
  kind: 'read',
  describe: () => 'check that this instance has joined the cluster',
  async run({ state, deps }) {
    const cluster = state.get('identity').clusterName;
    const membership = await readMembership(deps.fs, cluster);
    if (membership.state !== 'member') {
      throw new IncompatibleError(`this instance has not joined cluster ${cluster}, so it cannot clean up`, {
        hint: "run 'kboot cleanup' on a control-plane member that has joined",
      });
    }
    state.set({ membership });
    return undefined;
  },
};

const planCleanup: CleanupStep = {
  name: 'plan',
  kind: 'read',
  describe: () =>
    'find the etcd members and Node objects of lost instances (member registry, EC2, etcd, Nodes)',
  async run({ state, deps, signal }) {
    const plan = await runCleanup(deps, state.get('identity').clusterName, {
      dryRun: true,
      nodes: true,
      signal,
    });
    state.set({ plan });
    return undefined;
  },
};

function nothingToRemove(plan: CleanupReport): boolean {
  return plan.outcome !== 'quorum-lost' && !needsCleanup(plan);
}

const joinLease = leaseStep<CleanupState, FlowDeps>({
  name: 'control-plane-join-lease',
  describe: (state) =>
    `take the control-plane-join lease of cluster ${state.get('identity').clusterName} (waits for a joining master)`,
  skip: (state) => (nothingToRemove(state.get('plan')) ? 'nothing belongs to a lost instance' : undefined),
  async request({ state, deps }) {
    const identity = state.get('identity');
    return {
      lock: (await deps.state()).lock(identity.clusterName, 'control-plane-join'),
      options: {
        owner: identity.instance.instanceId,
        clock: deps.clock,
        leaseMs: CLEANUP_COMMAND_LEASE_MS,
        pollMs: deps.settings.pollMs,
        acquireDeadlineMs: deps.clock.nowMs() + state.get('waitMs'),
      },
    };
  },
  acquired({ state }, lease) {
    state.set({ lease });
  },
  busy({ state, deps }, current) {
    const cluster = state.get('identity').clusterName;
    throw new ClusterTimeoutError(
      `timed out after ${formatDurationMs(state.get('waitMs'))} waiting for the ${leaseLabel(cluster, 'control-plane-join')} (${describeHolder(current, deps.clock.nowMs())})`,
      {
        hint: 'a master is joining (it cleans up before it joins); run kboot cleanup again later, or raise --wait-timeout',
        details: { cluster, holder: current.owner },
      },
    );
  },
});

const removeLost: CleanupStep = {
  name: 'remove-lost',
  kind: 'change',
  describe: (state) => {
    const plan = state.get('plan');
    const members = plan.etcd.members.filter((m) => m.action === 'would-remove').map((m) => m.name);
    const nodes = plan.nodes.nodes.filter((n) => n.action === 'would-delete').map((n) => n.name);
    return `remove etcd member(s) [${members.join(', ')}] and delete Node(s) [${nodes.join(', ')}] of lost instances (planned again under the lease)`;
  },
  skip: (state) => (nothingToRemove(state.get('plan')) ? 'nothing belongs to a lost instance' : undefined),
  noUndo: 'a lost instance is gone: its etcd member and Node are not put back',
  async run({ state, deps, signal }) {
    const report = await runCleanup(deps, state.get('identity').clusterName, {
      dryRun: false,
      nodes: true,
      signal,
    });
    state.set({ report });
    return undefined;
  },
};

export const cleanupFlow: Flow<CleanupState, FlowDeps, CleanupReport> = {
  name: 'cleanup',
  steps: [
    identityStep(
      'cleanup',
      'control-plane',
      "run 'kboot cleanup' on a control-plane member (it uses etcd's client certificate and admin.conf)",
    ),
    requireMember,
    planCleanup,
    joinLease,
    removeLost,
  ],
  result: (state, run) =>
    state.peek('report') ?? (run.dryRun ? state.get('plan') : nothingRemoved(state.get('plan'))),
};
