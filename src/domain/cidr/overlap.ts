/** Relations between several ranges: which two overlap, and what of a range is left free. */

import type { Ipv4Cidr } from './ipv4-cidr.js';

/** A range together with what messages call it, e.g. `--subnet 10.0.1.0/24`. */
export interface NamedCidr {
  name: string;
  cidr: Ipv4Cidr;
}

/** The first pair (in input order) of ranges that share an address, or undefined. */
export function firstOverlap(ranges: readonly NamedCidr[]): [NamedCidr, NamedCidr] | undefined {
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i] as NamedCidr;
      const b = ranges[j] as NamedCidr;
      if (a.cidr.overlaps(b.cidr)) return [a, b];
    }
  }
  return undefined;
}

/**
 * The part of `container` that none of `used` covers, as the fewest aligned blocks, in address
 * order. Blocks either nest or are disjoint, so halving until a half is wholly used or wholly
 * free is exact.
 */
export function freeBlocks(container: Ipv4Cidr, used: readonly Ipv4Cidr[]): Ipv4Cidr[] {
  const touching = used.filter((block) => block.overlaps(container));
  if (touching.length === 0) return [container];
  if (touching.some((block) => block.contains(container))) return [];
  const [low, high] = container.halves();
  return [...freeBlocks(low, touching), ...freeBlocks(high, touching)];
}
