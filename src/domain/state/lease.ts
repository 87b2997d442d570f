/**
 * The lease lock (DESIGN.md "Cluster state: DynamoDB"): owner = instance id, an expiry, and a
 * fencing counter `fence` that grows on every acquisition and is never reset (lock items are
 * never deleted; a release clears owner and expiry and keeps the fence).
 *
 * This module owns the rules — the states a lock can be in and which of them may be acquired —
 * and the small port a store implements. The DynamoDB adapter turns ACQUIRABLE_STATES into one
 * conditional write; test fakes apply `leaseState` directly.
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';

export const LOCK_NAMES = ['bootstrap', 'control-plane-join', 'rotate'] as const;
export type LockName = (typeof LOCK_NAMES)[number];

/** kubeadm init can take several minutes; the holder renews every third of this. */
export const DEFAULT_LEASE_MS = 10 * 60_000;

const lockShape = z.object({
  owner: z.string().min(1).optional(),
  expiresAtMs: z.number().optional(),
  fence: z.int().nonnegative().default(0),
  acquiredAtMs: z.number().optional(),
  renewedAtMs: z.number().optional(),
  releasedAtMs: z.number().optional(),
});

/** A lock item as stored. `owner` and `expiresAtMs` are absent once released. */
export type LockRecord = z.infer<typeof lockShape>;

export function parseLockRecord(raw: unknown, what: string): LockRecord {
  const parsed = lockShape.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new StateConflictError(`${what} is malformed (fields: ${fields})`, {
      hint: 'delete the lock item; kboot recreates it (the fence restarts, so do this only when no instance is booting)',
    });
  }
  return parsed.data;
}

/** Which lease: enough to check (with a conditional write) that it is still held. */
export interface LeaseRef {
  cluster: string;
  lock: LockName;
  owner: string;
  fence: number;
}

/** A lease this process holds. */
export interface Lease extends LeaseRef {
  expiresAtMs: number;
}

export type LeaseState = 'free' | 'released' | 'expired' | 'held-by-me' | 'held-by-other';

/**
 * The states in which `owner` may take the lock. `held-by-me` is included so an instance that
 * restarts (a reboot mid-bootstrap) takes its own lease back at once; the new fence makes any
 * earlier process of the same instance lose it at its next renewal or fenced write.
 */
export const ACQUIRABLE_STATES = [
  'free',
  'released',
  'expired',
  'held-by-me',
] as const satisfies readonly LeaseState[];
export type AcquirableState = (typeof ACQUIRABLE_STATES)[number];

export function leaseState(record: LockRecord | undefined, owner: string, nowMs: number): LeaseState {
  if (record === undefined) return 'free';
  if (record.owner === undefined) return 'released';
  if (record.expiresAtMs === undefined || record.expiresAtMs <= nowMs) return 'expired';
  return record.owner === owner ? 'held-by-me' : 'held-by-other';
}

export function isAcquirable(state: LeaseState): state is AcquirableState {
  return (ACQUIRABLE_STATES as readonly LeaseState[]).includes(state);
}

export type AcquireOutcome =
  | { acquired: true; lease: Lease }
  /** Lost: `current` is the holder as the failed conditional write saw it. */
  | { acquired: false; current: LockRecord };

export type RenewOutcome =
  | { renewed: true; expiresAtMs: number }
  | { renewed: false; current: LockRecord | undefined };

export type ReleaseOutcome = { released: true } | { released: false; current: LockRecord | undefined };

export interface AcquireRequest {
  owner: string;
  nowMs: number;
  leaseMs: number;
}

/**
 * One lock of one cluster. Each method is a single conditional write (or read); a lost
 * condition is an outcome, not an exception. Availability failures throw (KbootError family).
 */
export interface LeaseLock {
  readonly cluster: string;
  readonly name: LockName;
  /** Takes the lock when it is in an ACQUIRABLE_STATE, with fence = previous fence + 1. */
  tryAcquire(request: AcquireRequest, signal?: AbortSignal): Promise<AcquireOutcome>;
  /** Extends the expiry to nowMs + leaseMs, only while owner and fence are still `lease`'s. */
  renew(
    lease: LeaseRef,
    timing: { nowMs: number; leaseMs: number },
    signal?: AbortSignal,
  ): Promise<RenewOutcome>;
  /** Clears owner and expiry (keeps the fence), only while owner and fence are still `lease`'s. */
  release(lease: LeaseRef, nowMs: number, signal?: AbortSignal): Promise<ReleaseOutcome>;
  read(signal?: AbortSignal): Promise<LockRecord | undefined>;
}

/** "bootstrap lease of cluster "prod"", for messages. */
export function leaseLabel(cluster: string, lock: LockName): string {
  return `${lock} lease of cluster "${cluster}"`;
}

/** Who holds a lock now, in words, for messages. */
export function describeHolder(record: LockRecord | undefined, nowMs: number): string {
  if (record === undefined) return 'the lock item is gone';
  if (record.owner === undefined) return `it is free (fence ${record.fence})`;
  const expires =
    record.expiresAtMs === undefined
      ? 'with no expiry'
      : `until ${new Date(record.expiresAtMs).toISOString()}`;
  const stale = record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs ? ' (expired)' : '';
  return `held by ${record.owner} with fence ${record.fence} ${expires}${stale}`;
}

/** The error for a lease that was taken over or released behind this holder's back. */
export function leaseLostError(
  lease: LeaseRef,
  current: LockRecord | undefined,
  nowMs: number,
  doing: string,
): StateConflictError {
  return new StateConflictError(
    `lost the ${leaseLabel(lease.cluster, lease.lock)} while ${doing}: this instance (${lease.owner}) held it with fence ${lease.fence}, now ${describeHolder(current, nowMs)}`,
    {
      hint:
        'another instance took over after this lease expired; stop this instance and check `kboot status --cluster ' +
        `${lease.cluster}\``,
      details: {
        cluster: lease.cluster,
        lock: lease.lock,
        owner: lease.owner,
        fence: lease.fence,
        currentOwner: current?.owner,
        currentFence: current?.fence,
      },
    },
  );
}

/** Releases a lease; a stale holder (owner or fence changed) gets a StateConflictError. */
export async function releaseLease(
  lock: LeaseLock,
  lease: LeaseRef,
  nowMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const outcome = await lock.release(lease, nowMs, signal);
  if (!outcome.released) throw leaseLostError(lease, outcome.current, nowMs, 'releasing it');
}
