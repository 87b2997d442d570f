/**
 * `kboot cidr check`: validates ranges someone already chose. Each given range gets one finding
 * saying what was verified; the first problem throws a UsageError instead (rules.ts).
 */

import type { Ipv4Cidr } from './ipv4-cidr.js';
import { AWS_RESERVED_ADDRESSES_PER_SUBNET, NODE_POD_PREFIX } from './limits.js';
import { CIDR_FLAG_NAMES, type CidrInputNames } from './names.js';
import { parseCidr } from './parse.js';
import { serviceIps } from './plan.js';
import {
  nodeCapacity,
  requireDisjoint,
  requirePodCidr,
  requireServiceCidr,
  requireSubnetCidr,
  requireVpcCidr,
} from './rules.js';

export interface CheckRequest {
  vpcCidr: string;
  podCidr?: string | undefined;
  serviceCidr?: string | undefined;
  subnets?: readonly string[] | undefined;
  podsInVpc?: boolean | undefined;
}

export interface CheckFinding {
  /** What the range was given as, e.g. "--subnet". */
  input: string;
  cidr: Ipv4Cidr;
  /** What was verified, one sentence. */
  finding: string;
}

export interface CheckReport {
  findings: CheckFinding[];
  /** Present when a service range was given. */
  serviceIps?: { apiServerServiceIp: string; clusterDnsIp: string };
}

function plural(count: number | bigint, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 || count === 1n ? singular : pluralForm}`;
}

export function checkNetwork(request: CheckRequest, names: CidrInputNames = CIDR_FLAG_NAMES): CheckReport {
  const podsInVpc = request.podsInVpc === true;
  const vpc = parseCidr(request.vpcCidr, names.vpc);
  const subnets = (request.subnets ?? []).map((text) => parseCidr(text, names.subnet));
  const pod = request.podCidr === undefined ? undefined : parseCidr(request.podCidr, names.pod);
  const service =
    request.serviceCidr === undefined ? undefined : parseCidr(request.serviceCidr, names.service);

  requireVpcCidr(vpc, names);
  for (const subnet of subnets) requireSubnetCidr(subnet, vpc, names);
  requireDisjoint(
    subnets.map((cidr) => ({ name: names.subnet, cidr })),
    'give subnets that share no address (kboot cidr plan shows a layout)',
  );
  if (pod !== undefined) requirePodCidr(pod, vpc, podsInVpc, names);
  if (service !== undefined) requireServiceCidr(service, vpc, pod, names);

  const findings: CheckFinding[] = [
    {
      input: names.vpc,
      cidr: vpc,
      finding: `a valid VPC range of ${plural(vpc.size, 'address', 'addresses')}`,
    },
  ];
  for (const subnet of subnets) {
    const usable = subnet.size - AWS_RESERVED_ADDRESSES_PER_SUBNET;
    findings.push({
      input: names.subnet,
      cidr: subnet,
      finding: `inside the VPC, overlaps no other subnet, ${plural(usable, 'usable address', 'usable addresses')}`,
    });
  }
  if (pod !== undefined) {
    findings.push({
      input: names.pod,
      cidr: pod,
      finding: podsInVpc
        ? `inside the VPC on purpose (${names.podsInVpc}: pods take VPC addresses)`
        : `outside the VPC, room for ${plural(nodeCapacity(pod), 'node')} at a /${NODE_POD_PREFIX} each`,
    });
  }
  if (service !== undefined) {
    const ips = serviceIps(service);
    findings.push({
      input: names.service,
      cidr: service,
      finding: `outside the VPC${pod === undefined ? '' : ' and the pod range'}; API server ${ips.apiServerServiceIp}, cluster DNS ${ips.clusterDnsIp}`,
    });
    return { findings, serviceIps: ips };
  }
  return { findings };
}
