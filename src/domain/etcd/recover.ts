/**
 * `kboot etcd recover`'s decisions, apart from any I/O: whether this member may make itself a new
 * one-member cluster (etcd's `--force-new-cluster`, as etcd's disaster-recovery guide and
 * kubeadm's stacked etcd allow), and the edit of kubeadm's static Pod manifest that does it.
 *
 * It may only when quorum is really lost and nothing else could take the cluster on: no leader
 * seen by this member (etcd's CheckQuorum makes a leader cut off from a majority step down within
 * an election timeout), and no other member answering at any of its client URLs. A second member
 * that answers (the minority side of a partition, or a 5-member cluster with two survivors) means
 * two clusters could fork from one: then it refuses, and the operator recovers on one of them.
 */

import { isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { StateConflictError, UsageError } from '../../core/errors.js';
import type { EtcdMember } from './members.js';

export const FORCE_NEW_CLUSTER = '--force-new-cluster';

/** What this member of etcd says of itself (Maintenance/Status). */
export interface LocalEtcdStatus {
  /** This member's id (uint64, decimal). */
  memberId: string;
  /** The leader's member id as this member knows it; "0": none (no quorum). */
  leader: string;
  /** Raft's term: it grows at every election, so a restarted one-member etcd shows a larger one. */
  raftTerm: string;
}

export interface OtherMember {
  member: EtcdMember;
  alive: boolean;
  reason?: string;
}

export type RecoveryDecision =
  | { action: 'recover'; self: EtcdMember; dropped: EtcdMember[] }
  | { action: 'nothing'; reason: string }
  | { action: 'refuse'; reason: string; hint: string };

/**
 * `resuming`: the manifest already has --force-new-cluster (a run stopped half-way): a member
 * that is alone and leads is then finished by this run, not refused.
 */
export function decideRecovery(
  members: readonly EtcdMember[],
  status: LocalEtcdStatus,
  others: readonly OtherMember[],
  resuming: boolean,
): RecoveryDecision {
  const self = members.find((member) => member.id === status.memberId);
  if (self === undefined) {
    return {
      action: 'refuse',
      reason: `the local etcd member (${status.memberId}) is not in its own member list`,
      hint: 'check the etcd on this instance (crictl logs of the etcd container)',
    };
  }
  const answering = others.filter((other) => other.alive);
  if (answering.length > 0) {
    return {
      action: 'refuse',
      reason: `etcd member(s) ${answering.map((o) => `${o.member.name} (${o.member.clientUrls.join(', ')})`).join(', ')} still answer`,
      hint: 'recover only on the last member that answers: stop or terminate the others first, or repair them so quorum returns',
    };
  }
  if (others.length === 0) {
    return resuming
      ? { action: 'recover', self, dropped: [] }
      : { action: 'nothing', reason: `${self.name} is already the only etcd member; nothing to recover` };
  }
  if (status.leader !== '0') {
    return {
      action: 'refuse',
      reason: `etcd has a leader (member ${status.leader}): quorum is there`,
      hint: 'quorum is not lost: replace the missing members as usual (kboot cleanup removes members whose instance is gone)',
    };
  }
  return { action: 'recover', self, dropped: others.map((other) => other.member) };
}

function etcdCommand(
  text: string,
  path: string,
): { doc: ReturnType<typeof parseDocument>; command: YAMLSeq } {
  const doc = parseDocument(text);
  const containers = doc.getIn(['spec', 'containers']);
  const container = isSeq(containers)
    ? (containers.items.find((item) => isMap(item) && (item as YAMLMap).get('name') === 'etcd') as
        | YAMLMap
        | undefined)
    : undefined;
  const command = container?.get('command');
  if (doc.errors.length > 0 || !isSeq(command) || command.items.length === 0) {
    throw new StateConflictError(
      `${path} is not kubeadm's etcd static Pod manifest (no etcd container command)`,
      {
        hint: 'kboot etcd recover edits the manifest kubeadm wrote; restore it (kubeadm init phase etcd local) or recover by hand',
        details: { path },
      },
    );
  }
  return { doc, command };
}

const isFlag = (item: unknown): boolean => {
  const value = isMap(item) ? undefined : (item as { value?: unknown })?.value;
  return value === FORCE_NEW_CLUSTER || value === `${FORCE_NEW_CLUSTER}=true`;
};

export function hasForceNewCluster(manifest: string, path: string): boolean {
  return etcdCommand(manifest, path).command.items.some(isFlag);
}

/** The manifest with etcd started as a new one-member cluster from its own data. */
export function withForceNewCluster(manifest: string, path: string): string {
  const { doc, command } = etcdCommand(manifest, path);
  if (!command.items.some(isFlag)) command.add(FORCE_NEW_CLUSTER);
  return doc.toString();
}

/** The manifest as kubeadm wrote it: the flag must go, or every restart would force again. */
export function withoutForceNewCluster(manifest: string, path: string): string {
  const { doc, command } = etcdCommand(manifest, path);
  command.items = command.items.filter((item) => !isFlag(item));
  return doc.toString();
}

export function refusal(decision: Extract<RecoveryDecision, { action: 'refuse' }>): UsageError {
  return new UsageError(`kboot etcd recover refused: ${decision.reason}`, { hint: decision.hint });
}
