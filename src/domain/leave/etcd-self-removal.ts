/**
 * Whether a leaving master may remove its own etcd member. Pure: the member list in, a decision
 * out. The member is found by name (kubeadm names it after the node) or by a peer URL on the
 * instance's private IP. Removing it is refused when the members left could not keep quorum:
 * of the voting members that remain, more than half must be alive (answer a probe) — else
 * the removal would leave etcd without a majority, and the API server with it. A refused member
 * stays registered; the surviving control plane's cleanup removes it once quorum allows.
 */

import type { EtcdMember } from '../etcd/members.js';

export type SelfRemoval =
  | { action: 'remove'; member: EtcdMember; votersAfter: number }
  | { action: 'absent' }
  | { action: 'refuse'; member: EtcdMember; reason: string };

function peerHost(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function findOwnMember(
  members: readonly EtcdMember[],
  self: { nodeName: string; privateIp: string },
): EtcdMember | undefined {
  return (
    members.find((member) => member.name === self.nodeName) ??
    members.find((member) => member.peerUrls.some((url) => peerHost(url) === self.privateIp))
  );
}

/**
 * `alive` says which members answer (probed by the caller); without it, a member with client
 * URLs counts as started.
 */
export function planSelfRemoval(
  members: readonly EtcdMember[],
  self: { nodeName: string; privateIp: string },
  alive: (member: EtcdMember) => boolean = (member) => member.clientUrls.length > 0,
): SelfRemoval {
  const own = findOwnMember(members, self);
  if (own === undefined) return { action: 'absent' };
  // A learner does not vote: removing it never changes quorum.
  if (own.isLearner)
    return { action: 'remove', member: own, votersAfter: members.filter((m) => !m.isLearner).length };
  const votersAfter = members.filter((member) => !member.isLearner && member.id !== own.id);
  if (votersAfter.length === 0) {
    return {
      action: 'refuse',
      member: own,
      reason: 'it is the last etcd member: removing it would delete the cluster state',
    };
  }
  const started = votersAfter.filter(alive).length;
  const quorum = Math.floor(votersAfter.length / 2) + 1;
  if (started < quorum) {
    return {
      action: 'refuse',
      member: own,
      reason: `only ${started} of the ${votersAfter.length} other voting members answer, and ${quorum} are needed for quorum after the removal`,
    };
  }
  return { action: 'remove', member: own, votersAfter: votersAfter.length };
}
