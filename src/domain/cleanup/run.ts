/**
 * The cleanup of abrupt losses, run by a surviving control-plane member: etcd members and Node
 * objects whose EC2 instance is terminated or gone are removed (plan.ts decides), every removal
 * logged with its reason.
 *   read the member registry → list etcd members, probe each → list Node objects →
 *   DescribeInstances for every name → plan → remove one etcd member → list and probe again →
 *   plan again … → delete the Nodes whose instance is gone.
 * With fewer than a quorum of members alive, nothing is removed and the report says why;
 * `requireQuorum` turns that into the StateConflictError the CLI exits with.
 */

import { StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { EtcdMember, EtcdMembership } from '../etcd/members.js';
import type { MemberRecord } from '../state/member.js';
import {
  type EtcdPlan,
  instanceIdFromProviderId,
  type MemberDecision,
  type NodeDecision,
  planEtcd,
  planNodes,
  registryByNodeName,
} from './plan.js';
import type {
  EtcdProbe,
  InstanceDirectory,
  InstanceLookup,
  MemberProbe,
  NodeObject,
  NodeObjects,
} from './ports.js';

export interface CleanupPorts {
  /** The member registry of the cluster (instance ids and node names recorded at join). */
  registry(signal?: AbortSignal): Promise<MemberRecord[]>;
  instances: InstanceDirectory;
  /** etcd through this control-plane member's client certificate; undefined: skip etcd. */
  etcd: (EtcdMembership & EtcdProbe) | undefined;
  /** The cluster's Node objects (admin kubeconfig); undefined: skip Nodes. */
  nodes: NodeObjects | undefined;
}

export interface CleanupContext {
  cluster: string;
  logger: Logger;
  signal: AbortSignal;
  dryRun: boolean;
}

export interface MemberReport {
  id: string;
  name: string;
  instanceId: string | null;
  instanceState: string;
  alive: boolean;
  action: 'removed' | 'would-remove' | 'kept';
  reason: string;
}

export interface NodeReport {
  name: string;
  instanceId: string | null;
  instanceState: string;
  action: 'deleted' | 'would-delete' | 'kept';
  reason: string;
}

export interface CleanupReport {
  outcome: 'clean' | 'cleaned' | 'planned' | 'quorum-lost';
  cluster: string;
  summary: string;
  etcd: {
    skipped: string | null;
    quorum: { votingMembers: number; aliveMembers: number; needed: number } | null;
    members: MemberReport[];
    /** Set when quorum is lost: what is wrong and what to do. */
    explanation: string | null;
  };
  nodes: { skipped: string | null; nodes: NodeReport[] };
}

async function probeAll(etcd: EtcdProbe, members: readonly EtcdMember[], signal: AbortSignal) {
  const probes = await Promise.all(
    members.map(async (member) => [member.id, await etcd.probe(member, signal)] as const),
  );
  return new Map<string, MemberProbe>(probes);
}

function memberReport(decision: MemberDecision, action: MemberReport['action']): MemberReport {
  return {
    id: decision.member.id,
    name: decision.member.name,
    instanceId: decision.located.instanceId ?? null,
    instanceState: decision.located.status,
    alive: decision.probe.alive,
    action,
    reason: decision.reason,
  };
}

function nodeReport(decision: NodeDecision, action: NodeReport['action']): NodeReport {
  return {
    name: decision.node.name,
    instanceId: decision.located.instanceId ?? null,
    instanceState: decision.located.status,
    action,
    reason: decision.reason,
  };
}

/** The names to look up in EC2: by id when the registry or a providerID gives one, else by name. */
function lookupQuery(
  names: readonly string[],
  registry: ReadonlyMap<string, string>,
  nodes: readonly NodeObject[],
) {
  const ids = new Set<string>();
  const dnsNames = new Set<string>();
  for (const name of names) {
    const id = registry.get(name);
    if (id !== undefined) ids.add(id);
    if (name !== '') dnsNames.add(name);
  }
  for (const node of nodes) {
    const id = instanceIdFromProviderId(node.providerId);
    if (id !== undefined) ids.add(id);
  }
  return { instanceIds: [...ids], privateDnsNames: [...dnsNames] };
}

function logKept(logger: Logger, decisions: readonly MemberDecision[]): void {
  for (const decision of decisions) {
    if (decision.action !== 'keep' || decision.probe.alive) continue;
    // A member that does not answer but is kept: say why, so an operator sees it.
    logger.warn(
      {
        member: decision.member.name,
        memberId: decision.member.id,
        instanceId: decision.located.instanceId,
        reason: decision.reason,
      },
      `etcd member ${decision.member.name || decision.member.id} does not answer but is kept: ${decision.reason}`,
    );
  }
}

export async function cleanupLostInstances(ports: CleanupPorts, ctx: CleanupContext): Promise<CleanupReport> {
  const { logger, signal, cluster } = ctx;
  const registryMembers = await ports.registry(signal);
  const registry = registryByNodeName(registryMembers);
  let members: EtcdMember[] = ports.etcd === undefined ? [] : await ports.etcd.list(signal);
  let nodesSkipped = ports.nodes === undefined ? 'no kubectl or admin kubeconfig on this instance' : null;
  let nodes: NodeObject[] = [];
  if (ports.nodes !== undefined) {
    try {
      nodes = await ports.nodes.list(signal);
    } catch (error) {
      // The API server may be down while etcd is not: the etcd half goes on.
      if (signal.aborted) throw error;
      nodesSkipped = `could not list Node objects: ${error instanceof Error ? error.message : String(error)}`;
      logger.warn({ err: error }, 'could not list Node objects; cleaning up etcd only');
    }
  }
  const names = [...members.map((member) => member.name), ...nodes.map((node) => node.name)];
  const lookup: InstanceLookup = await ports.instances.lookup(
    { cluster, ...lookupQuery(names, registry, nodes) },
    signal,
  );

  const report: CleanupReport = {
    outcome: 'clean',
    cluster,
    summary: '',
    etcd: {
      skipped: ports.etcd === undefined ? 'no etcd client on this instance' : null,
      quorum: null,
      members: [],
      explanation: null,
    },
    nodes: { skipped: nodesSkipped, nodes: [] },
  };

  if (ports.etcd !== undefined) {
    const etcd = ports.etcd;
    const removed: MemberReport[] = [];
    let plan: EtcdPlan = planEtcd({
      members,
      probes: await probeAll(etcd, members, signal),
      registry,
      lookup,
    });
    // At most one removal per member listed at the start; re-listed and re-planned after each.
    for (
      let round = 0;
      plan.kind === 'ok' && plan.next !== undefined && round < members.length + 1;
      round += 1
    ) {
      const next: MemberDecision = plan.next;
      if (ctx.dryRun) break;
      logger.warn(
        {
          member: next.member.name,
          memberId: next.member.id,
          instanceId: next.located.instanceId,
          reason: next.reason,
        },
        `removing etcd member ${next.member.name}: ${next.reason}`,
      );
      await etcd.remove(next.member.id, signal);
      removed.push(memberReport(next, 'removed'));
      members = await etcd.list(signal);
      plan = planEtcd({ members, probes: await probeAll(etcd, members, signal), registry, lookup });
    }
    logKept(logger, plan.decisions);
    report.etcd.quorum = {
      votingMembers: plan.votingMembers,
      aliveMembers: plan.aliveMembers,
      needed: plan.quorum,
    };
    report.etcd.members = [
      ...removed,
      ...plan.decisions.map((decision) =>
        memberReport(
          decision,
          decision.action === 'remove' && ctx.dryRun && plan.kind === 'ok' ? 'would-remove' : 'kept',
        ),
      ),
    ];
    if (plan.kind === 'quorum-lost') {
      logger.error(
        { votingMembers: plan.votingMembers, aliveMembers: plan.aliveMembers, quorum: plan.quorum },
        plan.explanation,
      );
      report.etcd.explanation = plan.explanation;
      report.outcome = 'quorum-lost';
    } else if (removed.length > 0) {
      report.outcome = 'cleaned';
    }
  }

  if (ports.nodes !== undefined && nodesSkipped === null && report.outcome !== 'quorum-lost') {
    for (const decision of planNodes(nodes, registry, lookup)) {
      if (decision.action === 'keep') {
        report.nodes.nodes.push(nodeReport(decision, 'kept'));
        continue;
      }
      if (ctx.dryRun) {
        logger.info(
          { node: decision.node.name, reason: decision.reason },
          `would delete Node ${decision.node.name}: ${decision.reason}`,
        );
        report.nodes.nodes.push(nodeReport(decision, 'would-delete'));
        continue;
      }
      logger.warn(
        { node: decision.node.name, instanceId: decision.located.instanceId, reason: decision.reason },
        `deleting Node ${decision.node.name}: ${decision.reason}`,
      );
      await ports.nodes.delete(decision.node.name, signal);
      report.nodes.nodes.push(nodeReport(decision, 'deleted'));
      if (report.outcome === 'clean') report.outcome = 'cleaned';
    }
  }

  const removedMembers = report.etcd.members.filter((m) => m.action === 'removed').map((m) => m.name);
  const deletedNodes = report.nodes.nodes.filter((n) => n.action === 'deleted').map((n) => n.name);
  const wouldRemove = report.etcd.members.filter((m) => m.action === 'would-remove').map((m) => m.name);
  const wouldDelete = report.nodes.nodes.filter((n) => n.action === 'would-delete').map((n) => n.name);
  if (report.outcome === 'quorum-lost') {
    report.summary = `etcd of cluster ${cluster} has lost quorum; nothing removed`;
  } else if (ctx.dryRun) {
    report.outcome = 'planned';
    report.summary =
      wouldRemove.length + wouldDelete.length === 0
        ? `dry run: nothing of cluster ${cluster} belongs to a lost instance`
        : `dry run: would remove etcd member(s) [${wouldRemove.join(', ')}] and delete Node(s) [${wouldDelete.join(', ')}]`;
  } else if (report.outcome === 'cleaned') {
    report.summary = `removed etcd member(s) [${removedMembers.join(', ')}] and deleted Node(s) [${deletedNodes.join(', ')}] of lost instances`;
  } else {
    report.summary = `nothing of cluster ${cluster} belongs to a lost instance`;
  }
  logger.info({ cluster, outcome: report.outcome }, report.summary);
  return report;
}

/** A dry run that found nothing to remove, as the report of a run that removed nothing. */
export function nothingRemoved(plan: CleanupReport): CleanupReport {
  return {
    ...plan,
    outcome: 'clean',
    summary: `nothing of cluster ${plan.cluster} belongs to a lost instance`,
  };
}

/** Whether a (dry-run) report has something to remove, or a lost quorum to report. */
export function needsCleanup(report: CleanupReport): boolean {
  return (
    report.outcome === 'quorum-lost' ||
    report.etcd.members.some((member) => member.action === 'would-remove') ||
    report.nodes.nodes.some((node) => node.action === 'would-delete')
  );
}

/** Quorum lost is a failure for `kboot cleanup` and a join: exit 8 with the explanation. */
export function requireQuorum(report: CleanupReport): CleanupReport {
  if (report.outcome !== 'quorum-lost') return report;
  const quorum = report.etcd.quorum;
  throw new StateConflictError(
    `etcd of cluster ${report.cluster} has lost quorum (${quorum?.aliveMembers ?? 0} of ${quorum?.votingMembers ?? 0} members answer, ${quorum?.needed ?? 0} needed): kboot removes nothing`,
    {
      hint: 'restore etcd from a snapshot (etcd disaster recovery; README "Cleaning up after lost instances"), or bring the lost members back',
      details: { explanation: report.etcd.explanation },
    },
  );
}
