/**
 * Which etcd members and Node objects belong to instances that are gone, and which of them may
 * be removed now. Pure: members, Nodes, the member registry, EC2's answer and member probes in;
 * decisions with reasons out.
 *
 * A name (etcd member name = Node name = the instance's private DNS name) is mapped to an
 * instance by, in order: the member registry (instance id recorded at join), the Node's
 * providerID, EC2's private DNS name. Any live instance reached by any of them keeps it.
 *
 * Rules:
 * - removed only when its instance is terminated or does not exist (never running, pending,
 *   stopping, stopped; a shutting-down one waits for terminated: `kboot leave` may be at work);
 * - an etcd member that answers on its client URLs is kept, whatever EC2 says;
 * - never when fewer than a quorum of voting members answer: etcd could not commit the change,
 *   and the cluster needs disaster recovery, not cleanup;
 * - one etcd member at a time: the caller removes `next`, lists again and plans again.
 */

import type { EtcdMember } from '../etcd/members.js';
import type { MemberRecord } from '../state/member.js';
import type { Ec2InstanceState, InstanceLookup, MemberProbe, NodeObject } from './ports.js';

export type InstanceStatus = Ec2InstanceState | 'absent';

export interface Located {
  /** The instance the name maps to, when one was found or recorded. */
  instanceId: string | undefined;
  status: InstanceStatus;
  /** How the instance was found: registry, provider-id, dns-name; none when nothing matched. */
  via: 'registry' | 'provider-id' | 'dns-name' | 'none';
}

const GONE: ReadonlySet<InstanceStatus> = new Set(['terminated', 'absent']);

export function isGone(status: InstanceStatus): boolean {
  return GONE.has(status);
}

/** `aws:///us-east-1a/i-0123…` → `i-0123…`. */
export function instanceIdFromProviderId(providerId: string | undefined): string | undefined {
  const match = /^aws:\/\/\/[^/]*\/(i-[0-9a-f]+)$/.exec(providerId ?? '');
  return match?.[1];
}

/** The registry's instance id for each node name (the newest join wins). */
export function registryByNodeName(members: readonly MemberRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  const sorted = [...members].sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
  for (const member of sorted) if (member.nodeName !== undefined) out.set(member.nodeName, member.instanceId);
  return out;
}

/** Where a name's instance is, and in which state. A live instance under any key wins. */
function locate(
  name: string,
  keys: { registryId?: string | undefined; providerId?: string | undefined },
  lookup: InstanceLookup,
): Located {
  const found: Located[] = [];
  if (keys.registryId !== undefined) {
    const fact = lookup.byId.get(keys.registryId);
    found.push({ instanceId: keys.registryId, status: fact?.state ?? 'absent', via: 'registry' });
  }
  const fromProvider = instanceIdFromProviderId(keys.providerId);
  if (fromProvider !== undefined && fromProvider !== keys.registryId) {
    const fact = lookup.byId.get(fromProvider);
    found.push({ instanceId: fromProvider, status: fact?.state ?? 'absent', via: 'provider-id' });
  }
  const byName = lookup.byDnsName.get(name);
  if (byName !== undefined)
    found.push({ instanceId: byName.instanceId, status: byName.state, via: 'dns-name' });
  const live = found.find((item) => !isGone(item.status));
  if (live !== undefined) return live;
  return found[0] ?? { instanceId: undefined, status: 'absent', via: 'none' };
}

function describeInstance(located: Located): string {
  const id = located.instanceId ?? 'its instance';
  switch (located.status) {
    case 'absent':
      return located.via === 'none'
        ? 'no EC2 instance has this private DNS name'
        : `instance ${id} does not exist any more`;
    case 'terminated':
      return `instance ${id} is terminated`;
    case 'shutting-down':
      return `instance ${id} is shutting down (kboot leave may be at work; removed once it is terminated)`;
    default:
      return `instance ${id} is ${located.status}`;
  }
}

export interface MemberDecision {
  member: EtcdMember;
  located: Located;
  probe: MemberProbe;
  action: 'remove' | 'keep';
  reason: string;
}

export type EtcdPlan =
  | {
      kind: 'ok';
      decisions: MemberDecision[];
      /** The one member to remove now (then list again); undefined: nothing to remove. */
      next: MemberDecision | undefined;
      votingMembers: number;
      aliveMembers: number;
      quorum: number;
    }
  | {
      kind: 'quorum-lost';
      decisions: MemberDecision[];
      votingMembers: number;
      aliveMembers: number;
      quorum: number;
      /** One paragraph: what is wrong and what to do. */
      explanation: string;
    };

export function quorumOf(votingMembers: number): number {
  return Math.floor(votingMembers / 2) + 1;
}

export interface EtcdFacts {
  members: readonly EtcdMember[];
  probes: ReadonlyMap<string, MemberProbe>;
  registry: ReadonlyMap<string, string>;
  lookup: InstanceLookup;
}

function decideMember(member: EtcdMember, facts: EtcdFacts): MemberDecision {
  const probe = facts.probes.get(member.id) ?? { alive: false, reason: 'not probed' };
  const located = locate(member.name, { registryId: facts.registry.get(member.name) }, facts.lookup);
  const what = describeInstance(located);
  const base = { member, located, probe };
  if (member.name === '') {
    return {
      ...base,
      action: 'keep',
      reason: 'the member has no name (added but never started): remove it by hand if its join failed',
    };
  }
  if (!isGone(located.status))
    return { ...base, action: 'keep', reason: `${what}: never removed while its instance exists` };
  if (probe.alive) {
    return { ...base, action: 'keep', reason: `${what}, but the member answers on its client URLs: kept` };
  }
  return {
    ...base,
    action: 'remove',
    reason: `${what}; the member does not answer (${probe.reason ?? 'no answer'})`,
  };
}

export function planEtcd(facts: EtcdFacts): EtcdPlan {
  const decisions = facts.members.map((member) => decideMember(member, facts));
  const voting = decisions.filter((decision) => !decision.member.isLearner);
  const votingMembers = voting.length;
  const aliveMembers = voting.filter((decision) => decision.probe.alive).length;
  const quorum = quorumOf(votingMembers);
  const removals = decisions.filter((decision) => decision.action === 'remove');
  if (removals.length > 0 && aliveMembers < quorum) {
    const lost = voting
      .filter((decision) => !decision.probe.alive)
      .map((decision) => decision.member.name || decision.member.id);
    return {
      kind: 'quorum-lost',
      decisions,
      votingMembers,
      aliveMembers,
      quorum,
      explanation:
        `etcd has lost quorum: only ${aliveMembers} of ${votingMembers} members answer (${quorum} needed; not answering: ${lost.join(', ')}), ` +
        'so it cannot commit a membership change and kboot removes nothing. ' +
        'Recover the cluster from an etcd snapshot (etcd disaster recovery: `etcdutl snapshot restore` on one control-plane member, ' +
        'start it with --force-new-cluster, then let the other masters join again), or bring the lost members back if their disks survive.',
    };
  }
  // Learners first (they never count towards quorum), then in name order: deterministic.
  const next = [...removals].sort(
    (a, b) =>
      Number(b.member.isLearner) - Number(a.member.isLearner) || a.member.name.localeCompare(b.member.name),
  )[0];
  return { kind: 'ok', decisions, next, votingMembers, aliveMembers, quorum };
}

export interface NodeDecision {
  node: NodeObject;
  located: Located;
  action: 'delete' | 'keep';
  reason: string;
}

export function decideNode(
  node: NodeObject,
  registry: ReadonlyMap<string, string>,
  lookup: InstanceLookup,
): NodeDecision {
  const located = locate(
    node.name,
    { registryId: registry.get(node.name), providerId: node.providerId },
    lookup,
  );
  const what = describeInstance(located);
  if (!isGone(located.status))
    return { node, located, action: 'keep', reason: `${what}: never deleted while its instance exists` };
  if (node.ready === 'True') {
    return {
      node,
      located,
      action: 'keep',
      reason: `${what}, but its kubelet still reports Ready: kept until the node controller marks it NotReady`,
    };
  }
  return { node, located, action: 'delete', reason: what };
}

export function planNodes(
  nodes: readonly NodeObject[],
  registry: ReadonlyMap<string, string>,
  lookup: InstanceLookup,
): NodeDecision[] {
  return nodes.map((node) => decideNode(node, registry, lookup));
}
