import { cleanupInRotate, planCleanupInRotate } from '../../cleanup/flow.js';
import { needsCleanup } from '../../cleanup/run.js';
import type { RotateStep } from './types.js';

export const planCleanup: RotateStep = {
  name: 'plan-cleanup',
  kind: 'read',
  describe: () => 'look for the etcd members and Nodes of lost instances (member registry, EC2, etcd, Nodes)',
  async run({ state, deps, signal }) {
    state.set({ cleanupPlan: await planCleanupInRotate(deps, state.get('rotation').cluster, signal) });
    return undefined;
  },
};

export const cleanupLostInstances: RotateStep = {
  name: 'cleanup-lost-instances',
  kind: 'change',
  describe: (state) => {
    const plan = state.get('cleanupPlan');
    const members = plan?.etcd.members.filter((m) => m.action === 'would-remove').map((m) => m.name) ?? [];
    const nodes = plan?.nodes.nodes.filter((n) => n.action === 'would-delete').map((n) => n.name) ?? [];
    return `remove etcd member(s) [${members.join(', ')}] and Node(s) [${nodes.join(', ')}] of lost instances (under the control-plane-join lease, if free)`;
  },
  skip: (state) => {
    const plan = state.get('cleanupPlan');
    if (plan === null) return 'could not check for lost instances';
    return needsCleanup(plan) ? undefined : 'nothing belongs to a lost instance';
  },
  noUndo: 'a lost instance is gone: its etcd member and Node are not put back',
  async run({ state, deps, signal }) {
    const { cluster, owner } = state.get('rotation');
    state.set({ cleanup: await cleanupInRotate(deps, cluster, owner, signal) });
    return undefined;
  },
};
