/**
 * Carving a VPC into per-AZ subnets. The layout, for a VPC /v and N zones (AZ letters a, b, c…):
 *
 * - worker subnets, the largest (nodes, and with `--pods-in-vpc` their pods, live there): the
 *   VPC split into 2^k equal blocks with 2^k ≥ N + 1; blocks 0..N-1 are workers a, b, c…;
 * - block N is split into 2^m equal pieces with 2^m ≥ 2N: pieces 0..N-1 are the control-plane
 *   subnets, N..2N-1 the public subnets (load balancers, NAT gateways);
 * - everything after is spare, left free for growth.
 *
 * For 10.20.0.0/16 and 3 zones: workers /18 (10.20.0.0, .64.0, .128.0), control-plane and public
 * /21 (10.20.192.0 up to 10.20.232.0), spare 10.20.240.0/20. Every subnet is aligned to its size,
 * inside the VPC, and disjoint from the others; none is smaller than AWS's /28.
 */

import { UsageError } from '../../core/errors.js';
import { Ipv4Cidr } from './ipv4-cidr.js';
import { AWS_SUBNET_PREFIX } from './limits.js';
import type { CidrInputNames } from './names.js';
import { freeBlocks } from './overlap.js';
import { parseAzCount } from './parse.js';

export const SUBNET_ROLES = ['worker', 'control-plane', 'public'] as const;
export type SubnetRole = (typeof SUBNET_ROLES)[number];

export interface PlannedSubnet {
  /** `<role>-<az letter>`, e.g. worker-a. */
  name: string;
  /** The zone's letter: a, b, c… (the region's AZ names end in these). */
  az: string;
  role: SubnetRole;
  cidr: Ipv4Cidr;
}

export interface SubnetLayout {
  subnets: PlannedSubnet[];
  /** What of the VPC no subnet uses, as the fewest aligned blocks. */
  spare: Ipv4Cidr[];
}

function bitsFor(count: number): number {
  return Math.ceil(Math.log2(count));
}

/** Prefix lengths of the worker and of the control-plane/public subnets for a /vpcPrefix. */
export function subnetPrefixes(vpcPrefix: number, azCount: number): { worker: number; edge: number } {
  const worker = vpcPrefix + bitsFor(azCount + 1);
  return { worker, edge: worker + bitsFor(2 * azCount) };
}

/** The smallest VPC (the largest prefix length) this layout can carve `azCount` zones from. */
export function smallestVpcPrefixFor(azCount: number): number {
  return AWS_SUBNET_PREFIX.smallest - subnetPrefixes(0, azCount).edge;
}

function azLetter(index: number): string {
  return String.fromCharCode('a'.charCodeAt(0) + index);
}

/** Carves `azCount` zones of worker, control-plane and public subnets from `vpc`. */
export function carveSubnets(vpc: Ipv4Cidr, azs: number, names: CidrInputNames): SubnetLayout {
  const azCount = parseAzCount(azs, names.azs);
  const prefixes = subnetPrefixes(vpc.prefix, azCount);
  if (prefixes.edge > AWS_SUBNET_PREFIX.smallest) {
    const smallest = smallestVpcPrefixFor(azCount);
    throw new UsageError(
      `${names.vpc} ${vpc.toString()} is too small for ${azCount} availability zone${azCount === 1 ? '' : 's'}: ` +
        `the control-plane and public subnets would be /${prefixes.edge}, smaller than AWS's /${AWS_SUBNET_PREFIX.smallest} minimum`,
      { hint: `use a /${smallest} or larger VPC (prefix length ${smallest} or less), or fewer ${names.azs}` },
    );
  }
  const workerSize = 2n ** BigInt(32 - prefixes.worker);
  const edgeSize = 2n ** BigInt(32 - prefixes.edge);
  const edgeStart = vpc.network + BigInt(azCount) * workerSize;
  const subnet = (role: SubnetRole, index: number, network: bigint, prefix: number): PlannedSubnet => ({
    name: `${role}-${azLetter(index)}`,
    az: azLetter(index),
    role,
    cidr: Ipv4Cidr.of(network, prefix),
  });

  const subnets: PlannedSubnet[] = [];
  for (let i = 0; i < azCount; i++) {
    subnets.push(subnet('worker', i, vpc.network + BigInt(i) * workerSize, prefixes.worker));
  }
  for (let i = 0; i < azCount; i++) {
    subnets.push(subnet('control-plane', i, edgeStart + BigInt(i) * edgeSize, prefixes.edge));
  }
  for (let i = 0; i < azCount; i++) {
    subnets.push(subnet('public', i, edgeStart + BigInt(azCount + i) * edgeSize, prefixes.edge));
  }
  const spare = freeBlocks(
    vpc,
    subnets.map((planned) => planned.cidr),
  );
  return { subnets, spare };
}
