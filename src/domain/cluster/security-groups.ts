/**
 * The cluster's two security groups (`security-group`: control plane, workers) and their ingress
 * rules (`security-group-rules`, one resource per group, made after both groups exist because each
 * group's rules name the other). Pure: spec in, properties out; the provider resolves the group
 * keys to ids. Egress stays the default (everything), which the nodes need for AWS APIs,
 * registries and the API endpoint.
 *
 * The ports are kubeadm's "Ports and Protocols" (kubernetes.io/docs/reference/networking/
 * ports-and-protocols) and, with `addons.cni: cilium`, Cilium's firewall requirements for its
 * VXLAN tunnel mode (UDP 8472 between nodes, its health checks on TCP 4240 and ICMP echo):
 * - control plane: 6443 from the VPC range (the API load balancer does not preserve client IPs,
 *   so both its traffic and its health checks come from its private addresses in the VPC, as do
 *   nodes and in-VPC clients); etcd 2379-2380, kubelet 10250, controller-manager 10257 and
 *   scheduler 10259 between control-plane members; kubelet 10250 from workers (metrics-server);
 * - workers: kubelet 10250 from the control plane and from workers; NodePorts 30000-32767 only from
 *   the spec's `network.nodePortCidrs`.
 */

import type { ClusterSpec } from './spec.js';

export const NODE_PORT_RANGE = { fromPort: 30000, toPort: 32767 } as const;

/** Where a rule admits traffic from: a range, or the members of one of the cluster's groups. */
export type RuleSource = { cidr: string } | { groupFrom: string };

export interface SecurityGroupRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  /** For ICMP: the type (8: echo request). */
  fromPort: number;
  /** For ICMP: the code (0). */
  toPort: number;
  source: RuleSource;
  description: string;
}

/** `security-group`: an empty group in the cluster's VPC; outputs groupId, name. */
export interface SecurityGroupProperties {
  name: string;
  description: string;
  vpcId: string;
}

/** `security-group-rules`: the ingress rules of the group that is the `groupId` output of `group`. */
export interface SecurityGroupRulesProperties {
  /** Key of the `security-group` resource. */
  group: string;
  rules: SecurityGroupRule[];
}

export interface GroupKeys {
  controlPlane: string;
  workers: string;
}

function tcp(port: number | [number, number], source: RuleSource, description: string): SecurityGroupRule {
  const [fromPort, toPort] = typeof port === 'number' ? [port, port] : port;
  return { protocol: 'tcp', fromPort, toPort, source, description };
}

/** Cilium's node-to-node traffic, from each of the cluster's groups. */
function ciliumRules(keys: GroupKeys): SecurityGroupRule[] {
  return [keys.controlPlane, keys.workers].flatMap((groupFrom) => [
    {
      protocol: 'udp' as const,
      fromPort: 8472,
      toPort: 8472,
      source: { groupFrom },
      description: 'Cilium VXLAN',
    },
    tcp(4240, { groupFrom }, 'Cilium health'),
    {
      protocol: 'icmp' as const,
      fromPort: 8,
      toPort: 0,
      source: { groupFrom },
      description: 'Cilium health (ICMP echo)',
    },
  ]);
}

/** The control-plane group's ingress rules. */
export function controlPlaneRules(spec: ClusterSpec, keys: GroupKeys): SecurityGroupRule[] {
  const self = { groupFrom: keys.controlPlane };
  return [
    tcp(6443, { cidr: spec.network.vpcCidr }, 'Kubernetes API: load balancer, health checks, nodes'),
    tcp([2379, 2380], self, 'etcd client and peer'),
    tcp(10250, self, 'kubelet API'),
    tcp(10257, self, 'kube-controller-manager'),
    tcp(10259, self, 'kube-scheduler'),
    tcp(10250, { groupFrom: keys.workers }, 'kubelet API from workers (metrics-server)'),
    ...(spec.addons?.cni === 'cilium' ? ciliumRules(keys) : []),
  ];
}

/** The workers' group's ingress rules. */
export function workerRules(spec: ClusterSpec, keys: GroupKeys): SecurityGroupRule[] {
  return [
    tcp(10250, { groupFrom: keys.controlPlane }, 'kubelet API from the control plane'),
    tcp(10250, { groupFrom: keys.workers }, 'kubelet API from workers (metrics-server)'),
    ...spec.network.nodePortCidrs.map((cidr) =>
      tcp([NODE_PORT_RANGE.fromPort, NODE_PORT_RANGE.toPort], { cidr }, 'NodePort services'),
    ),
    ...(spec.addons?.cni === 'cilium' ? ciliumRules(keys) : []),
  ];
}

/** A rule with its source resolved to a CIDR or a group id. */
export interface ResolvedRule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidr?: string;
  groupId?: string;
  description: string;
}

/** One rule as comparable text: `tcp 6443-6443 from 10.0.0.0/16`. */
export function ruleText(rule: Omit<ResolvedRule, 'description'>): string {
  return `${rule.protocol} ${rule.fromPort}-${rule.toPort} from ${rule.cidr ?? rule.groupId ?? '?'}`;
}
