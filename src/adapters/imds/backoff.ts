/**
 * Exponential backoff with "equal jitter": after the n-th failed attempt wait between half and
 * all of min(maxDelayMs, baseDelayMs * 2^(n-1)), so concurrent booters spread out but never
 * retry at once. `random` is injected (Math.random in production) so tests are deterministic.
 */

export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 200, maxDelayMs: 2000 };

export function backoffDelayMs(failedAttempts: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.max(0, failedAttempts - 1);
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
}
