/**
 * What the cleanup of lost instances needs from the world, as narrow ports: the EC2 state of the
 * instances that etcd members and Node objects map to, a probe of one etcd member, and the
 * cluster's Node objects. The etcd membership itself is the shared port of domain/etcd/members.ts.
 */

import type { EtcdMember } from '../etcd/members.js';

/** EC2's instance states; `absent` is an instance EC2 does not know (or no longer lists). */
export const INSTANCE_STATES = [
  'pending',
  'running',
  'shutting-down',
  'terminated',
  'stopping',
  'stopped',
] as const;
export type Ec2InstanceState = (typeof INSTANCE_STATES)[number];

export interface InstanceFact {
  instanceId: string;
  state: Ec2InstanceState;
  /** Empty once terminated (EC2 clears it). */
  privateDnsName: string | undefined;
  privateIp: string | undefined;
  /** The cluster its tags name, when they name one. */
  cluster: string | undefined;
  /** When EC2 last launched it (started again after a stop: that start), when EC2 says. */
  launchTimeMs?: number | undefined;
}

export interface InstanceLookup {
  /** Every instance EC2 returned, by id. An id asked for and not here does not exist. */
  byId: ReadonlyMap<string, InstanceFact>;
  /**
   * Instances by private DNS name: not terminated (EC2 clears a terminated one's name) and not
   * tagged for another cluster (a reused private IP gives another cluster's instance the name).
   */
  byDnsName: ReadonlyMap<string, InstanceFact>;
}

export interface InstanceDirectory {
  /** One DescribeInstances per kind of key asked (ids, DNS names); never throws for unknown ids. */
  lookup(
    query: { cluster: string; instanceIds: readonly string[]; privateDnsNames: readonly string[] },
    signal?: AbortSignal,
  ): Promise<InstanceLookup>;
}

export interface MemberProbe {
  /** The member answered at one of its client URLs. */
  alive: boolean;
  /** Why not (or what it reported, e.g. "etcdserver: no leader"). */
  reason?: string;
}

export interface EtcdProbe {
  probe(member: EtcdMember, signal?: AbortSignal): Promise<MemberProbe>;
}

export interface NodeObject {
  name: string;
  /** `aws:///<az>/<instance id>` when a cloud provider set it. */
  providerId: string | undefined;
  /** The Ready condition's status: True, False, Unknown (undefined when not reported). */
  ready: string | undefined;
}

export interface NodeObjects {
  list(signal?: AbortSignal): Promise<NodeObject[]>;
  delete(name: string, signal?: AbortSignal): Promise<void>;
}

/** How a flow gets the cleanup's ports (FlowDeps.cleanup): each made on first use. */
export interface CleanupWiring {
  /** The member registry of a cluster (dynamodb:Query of its items). */
  registry(cluster: string, signal?: AbortSignal): Promise<import('../state/member.js').MemberRecord[]>;
  instances(): Promise<InstanceDirectory>;
  /**
   * etcd through the client certificate kubeadm wrote under the root, at `endpoints` (default:
   * KBOOT_ETCD_ENDPOINTS, else this member's https://127.0.0.1:2379), `rounds` over them.
   */
  etcd(options: {
    endpoints?: readonly string[];
    rounds?: number;
  }): Promise<import('../etcd/members.js').EtcdMembership & EtcdProbe>;
  /** Node objects through kubectl and the admin kubeconfig; undefined when either is missing. */
  nodes(): Promise<NodeObjects | undefined>;
  /** KBOOT_ETCD_ENDPOINTS, when set (comma-separated client URLs). */
  etcdEndpointsOverride: readonly string[] | undefined;
}
