/** Choosing a pod or service range when none is given: the first free candidate. */

import { UsageError } from '../../core/errors.js';
import type { Ipv4Cidr } from './ipv4-cidr.js';
import { parseCidr } from './parse.js';

/**
 * The first of `candidates` that overlaps none of `taken`. `what` and `flag` name the range in
 * the error raised when every candidate is taken.
 */
export function firstFreeCandidate(
  candidates: readonly string[],
  taken: readonly Ipv4Cidr[],
  what: string,
  flag: string,
): Ipv4Cidr {
  for (const text of candidates) {
    const candidate = parseCidr(text, `${what} candidate`);
    if (!taken.some((range) => range.overlaps(candidate))) return candidate;
  }
  throw new UsageError(
    `no default ${what} is free: ${candidates.join(', ')} each overlap ${taken.map(String).join(' or ')}`,
    { hint: `pass ${flag}` },
  );
}
