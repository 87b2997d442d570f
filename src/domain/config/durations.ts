/**
 * The bounds of every duration kboot reads (node config, flags, environment). Each is at most
 * MAX_DURATION_MS, 24 days (Node's timers overflow past 2^31 ms, about 24.8 days, and fire at
 * once), and at least a minimum under which kboot would spin (renew a lease hundreds of times a
 * second, poll AWS in a loop).
 * docs/nodes.md ("Node config") lists them; a test keeps the page and this table in step.
 */

import { type DurationBounds, MAX_DURATION_MS } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';

/**
 * A bootstrap or control-plane-join lease: long enough to outlast a renewal's AWS calls and
 * retries (renewals come every third of it), short enough that a dead holder is replaced soon.
 */
export const MIN_LEASE_MS = 30_000;
export const MAX_LEASE_MS = 3_600_000;

export const SECOND_MS = 1000;

/** The bounds of each duration, by the name a user sets it with. */
export const DURATION_BOUNDS = {
  'timeouts.lease': { minMs: MIN_LEASE_MS, maxMs: MAX_LEASE_MS },
  'timeouts.waitForInit': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  'timeouts.kubeadm': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  'timeouts.addons': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--wait-timeout': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--drain-timeout': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--heartbeat-interval': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--poll-interval': { minMs: 100, maxMs: MAX_DURATION_MS },
  '--token-ttl': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--renew-before': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  '--certificate-key-renew-before': { minMs: SECOND_MS, maxMs: MAX_DURATION_MS },
  KBOOT_POLL_MS: { minMs: 10, maxMs: 600_000 },
  KBOOT_MIN_LEASE_MS: { minMs: SECOND_MS, maxMs: MIN_LEASE_MS },
  KBOOT_STATIC_POD_WAIT_MS: { minMs: 10, maxMs: 600_000 },
  KBOOT_API_HEALTH_TIMEOUT_MS: { minMs: 10, maxMs: 3_600_000 },
} as const satisfies Record<string, DurationBounds>;

export type DurationField = keyof typeof DURATION_BOUNDS;

/** The bounds that depend on the environment (only the lease minimum, for tests). */
export interface DurationLimits {
  /** The shortest lease accepted: MIN_LEASE_MS unless KBOOT_MIN_LEASE_MS lowers it. */
  minLeaseMs: number;
}

export const DEFAULT_DURATION_LIMITS: DurationLimits = { minLeaseMs: MIN_LEASE_MS };

/** The bounds of a field under these limits. */
export function boundsOf(
  field: DurationField,
  limits: DurationLimits = DEFAULT_DURATION_LIMITS,
): DurationBounds {
  if (field === 'timeouts.lease') return { minMs: limits.minLeaseMs, maxMs: MAX_LEASE_MS };
  return DURATION_BOUNDS[field];
}

/**
 * A whole number of milliseconds from the environment (KBOOT_POLL_MS, KBOOT_MIN_LEASE_MS), or
 * undefined when unset; exit 2 naming the variable and its bounds when it is not one in range.
 */
export function envMs(
  env: NodeJS.ProcessEnv,
  name: 'KBOOT_POLL_MS' | 'KBOOT_MIN_LEASE_MS' | 'KBOOT_STATIC_POD_WAIT_MS' | 'KBOOT_API_HEALTH_TIMEOUT_MS',
): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const bounds = DURATION_BOUNDS[name];
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < bounds.minMs || value > bounds.maxMs) {
    throw new UsageError(
      `${name} must be a whole number of milliseconds from ${bounds.minMs} to ${bounds.maxMs}, got "${text}"`,
      {
        hint: `unset ${name} or set it within the bounds`,
      },
    );
  }
  return value;
}

/**
 * The limits the environment sets: KBOOT_MIN_LEASE_MS lowers the lease minimum, for tests and
 * simulations against local emulators where a takeover should not take 30 s. Never on an instance.
 */
export function durationLimits(env: NodeJS.ProcessEnv): DurationLimits {
  return { minLeaseMs: envMs(env, 'KBOOT_MIN_LEASE_MS') ?? MIN_LEASE_MS };
}
