/**
 * The rules each kind of range must follow, shared by `plan` and `check`. Each `require…`
 * returns nothing or throws a UsageError naming the input, its value and, for an overlap, the
 * other range; limits.ts says where every number comes from.
 */

import { UsageError } from '../../core/errors.js';
import type { Ipv4Cidr } from './ipv4-cidr.js';
import {
  AWS_SUBNET_PREFIX,
  AWS_VPC_PREFIX,
  NODE_POD_PREFIX,
  POD_SMALLEST_PREFIX,
  SERVICE_PREFIX,
  SPECIAL_USE_RANGES,
} from './limits.js';
import type { CidrInputNames } from './names.js';
import { firstOverlap, type NamedCidr } from './overlap.js';
import { parseCidr } from './parse.js';

const PRIVATE_RANGES_HINT = 'choose a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16';

const SPECIAL_USE = SPECIAL_USE_RANGES.map(({ cidr, what }) => ({
  cidr: parseCidr(cidr, 'special-use range'),
  what,
}));

function label(name: string, cidr: Ipv4Cidr): string {
  return `${name} ${cidr.toString()}`;
}

/** How many /24 node ranges a pod CIDR holds. */
export function nodeCapacity(pod: Ipv4Cidr): number {
  return pod.prefix > NODE_POD_PREFIX ? 0 : 2 ** (NODE_POD_PREFIX - pod.prefix);
}

export function requireNoSpecialUse({ name, cidr }: NamedCidr): void {
  for (const special of SPECIAL_USE) {
    if (cidr.overlaps(special.cidr)) {
      throw new UsageError(`${label(name, cidr)} overlaps ${special.cidr.toString()} (${special.what})`, {
        hint: PRIVATE_RANGES_HINT,
      });
    }
  }
}

export function requireVpcCidr(vpc: Ipv4Cidr, names: CidrInputNames): void {
  const limits = `AWS allows /${AWS_VPC_PREFIX.largest} to /${AWS_VPC_PREFIX.smallest} for a VPC`;
  if (vpc.prefix < AWS_VPC_PREFIX.largest) {
    throw new UsageError(`${label(names.vpc, vpc)} is too large: ${limits}`, {
      hint: `use a /${AWS_VPC_PREFIX.largest} or smaller range, e.g. ${names.vpc} ${vpc.addressAt(0n)}/${AWS_VPC_PREFIX.largest}`,
    });
  }
  if (vpc.prefix > AWS_VPC_PREFIX.smallest) {
    throw new UsageError(`${label(names.vpc, vpc)} is too small: ${limits}`, {
      hint: `use a /${AWS_VPC_PREFIX.smallest} or larger range (a prefix length of ${AWS_VPC_PREFIX.smallest} or less)`,
    });
  }
  requireNoSpecialUse({ name: names.vpc, cidr: vpc });
}

export function requireSubnetCidr(subnet: Ipv4Cidr, vpc: Ipv4Cidr, names: CidrInputNames): void {
  if (!vpc.contains(subnet)) {
    throw new UsageError(`${label(names.subnet, subnet)} is not inside ${label(names.vpc, vpc)}`, {
      hint: `give subnets carved from ${vpc.toString()} (kboot cidr plan shows a layout)`,
    });
  }
  if (subnet.prefix > AWS_SUBNET_PREFIX.smallest) {
    throw new UsageError(
      `${label(names.subnet, subnet)} is too small: AWS's smallest subnet is a /${AWS_SUBNET_PREFIX.smallest}`,
      { hint: `use a /${AWS_SUBNET_PREFIX.smallest} or larger subnet` },
    );
  }
}

/** Throws when two ranges share an address, naming both. */
export function requireDisjoint(ranges: readonly NamedCidr[], hint: string): void {
  const pair = firstOverlap(ranges);
  if (pair === undefined) return;
  const [a, b] = pair;
  const what =
    a.cidr.equals(b.cidr) && a.name === b.name ? `is given twice` : `overlaps ${label(b.name, b.cidr)}`;
  throw new UsageError(`${label(a.name, a.cidr)} ${what}`, { hint });
}

/**
 * A pod range: outside the VPC and room for 16 nodes; or, with `podsInVpc`, inside the VPC
 * (pods then take VPC addresses, so no per-node /24s are carved from it).
 */
export function requirePodCidr(
  pod: Ipv4Cidr,
  vpc: Ipv4Cidr,
  podsInVpc: boolean,
  names: CidrInputNames,
): void {
  requireNoSpecialUse({ name: names.pod, cidr: pod });
  if (podsInVpc) {
    if (!vpc.contains(pod)) {
      throw new UsageError(
        `${label(names.pod, pod)} is not inside ${label(names.vpc, vpc)}, but ${names.podsInVpc} says pods take VPC addresses`,
        {
          hint: `omit ${names.pod} to use the VPC range, give a range inside the VPC, or drop ${names.podsInVpc}`,
        },
      );
    }
    return;
  }
  if (pod.overlaps(vpc)) {
    throw new UsageError(`${label(names.pod, pod)} overlaps ${label(names.vpc, vpc)}`, {
      hint: `choose a pod range outside the VPC, or pass ${names.podsInVpc} if pods take VPC addresses (AWS VPC CNI)`,
    });
  }
  if (pod.prefix > POD_SMALLEST_PREFIX) {
    const nodes = nodeCapacity(pod);
    throw new UsageError(
      `${label(names.pod, pod)} is too small: every node takes a /${NODE_POD_PREFIX} from it, so it holds ${nodes} node${nodes === 1 ? '' : 's'}`,
      {
        hint: `use a /${POD_SMALLEST_PREFIX} (${2 ** (NODE_POD_PREFIX - POD_SMALLEST_PREFIX)} nodes) or larger, e.g. a /16 (256 nodes)`,
      },
    );
  }
}

/** A service range: /12 to /24, outside the VPC and the pod range. */
export function requireServiceCidr(
  service: Ipv4Cidr,
  vpc: Ipv4Cidr,
  pod: Ipv4Cidr | undefined,
  names: CidrInputNames,
): void {
  const limits = `kboot accepts /${SERVICE_PREFIX.largest} to /${SERVICE_PREFIX.smallest}`;
  if (service.prefix < SERVICE_PREFIX.largest) {
    throw new UsageError(
      `${label(names.service, service)} is too large: kube-apiserver refuses IPv4 service ranges larger than a /${SERVICE_PREFIX.largest}`,
      {
        hint: `use a /${SERVICE_PREFIX.largest} to /${SERVICE_PREFIX.smallest}, e.g. 10.96.0.0/12 (kubeadm's default)`,
      },
    );
  }
  if (service.prefix > SERVICE_PREFIX.smallest) {
    throw new UsageError(
      `${label(names.service, service)} is too small: ${limits} (a /24 holds 254 Services)`,
      {
        hint: `use a /${SERVICE_PREFIX.smallest} or larger, e.g. 10.96.0.0/12 (kubeadm's default)`,
      },
    );
  }
  requireNoSpecialUse({ name: names.service, cidr: service });
  const others: NamedCidr[] = [{ name: names.vpc, cidr: vpc }];
  if (pod !== undefined) others.push({ name: names.pod, cidr: pod });
  for (const other of others) {
    if (service.overlaps(other.cidr)) {
      throw new UsageError(`${label(names.service, service)} overlaps ${label(other.name, other.cidr)}`, {
        hint: `choose a service range outside the VPC and the pod range`,
      });
    }
  }
}
