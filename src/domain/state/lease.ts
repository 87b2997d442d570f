/**
 * The lease lock (DESIGN.md "Cluster state: DynamoDB"): owner = instance id, a record version
 * number `rvn` (a fresh random value on every acquisition and renewal), the holder's lease
 * duration `leaseMs`, and a fencing counter `fence` that grows on every acquisition and is never
 * reset (lock items are never deleted; a release clears owner and expiry and keeps the fence).
 *
 * No wall clock decides who holds a lease (the scheme of AWS's DynamoDB Lock Client): a
 * contender that finds the lock held notes its version and takes it over only after it has seen
 * that same version, unchanged, for a full lease duration on its own monotonic clock — with a
 * conditional write on that version, so a renewal in between makes the takeover fail. The holder
 * counts its lease as lost when it could not renew within its lease duration, measured on its
 * own monotonic clock from the moment it sent its last successful write. So the lease is safe
 * whatever the instances' wall clocks say; `expiresAtMs` (the holder's wall-clock guess) is kept
 * for `kboot status` only.
 *
 * This module owns the rules — the states a lock can be in and which of them may be acquired —
 * and the small port a store implements. The DynamoDB adapter turns ACQUIRABLE_STATES into one
 * conditional write; test fakes apply `leaseState` directly.
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';

export const LOCK_NAMES = ['bootstrap', 'control-plane-join', 'rotate', 'snapshot', 'upgrade'] as const;
export type LockName = (typeof LOCK_NAMES)[number];

/** kubeadm init can take several minutes; the holder renews every third of this. */
export const DEFAULT_LEASE_MS = 10 * 60_000;

const lockShape = z.object({
  owner: z.string().min(1).optional(),
  expiresAtMs: z.number().optional(),
  fence: z.int().nonnegative().default(0),
  /** Record version number: changes on every acquisition and renewal (absent: an older kboot's item). */
  rvn: z.string().min(1).optional(),
  /** The holder's lease duration: how long a contender watches an unchanged rvn before taking over. */
  leaseMs: z.int().positive().optional(),
  acquiredAtMs: z.number().optional(),
  renewedAtMs: z.number().optional(),
  releasedAtMs: z.number().optional(),
});

/** A lock item as stored. `owner`, `expiresAtMs`, `rvn` and `leaseMs` are absent once released. */
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

/** A lease as the store granted it. */
export interface Lease extends LeaseRef {
  /** The holder's wall-clock guess of its expiry, for status and messages only. */
  expiresAtMs: number;
  /** The record version number this holder wrote last. */
  rvn: string;
}

/** A lease this process holds, with when (on its monotonic clock) its validity started. */
export interface OwnLease extends Lease {
  /** Monotonic instant at which the last successful acquire or renew was sent. */
  validFromMonoMs: number;
  leaseMs: number;
}

/** Monotonic ms this lease stays valid for its holder; zero or less once it must count as lost. */
export function remainingValidityMs(lease: OwnLease, monoNowMs: number): number {
  return lease.validFromMonoMs + lease.leaseMs - monoNowMs;
}

/**
 * Which version of a held lock a contender saw: the rvn, or, for an item an older kboot wrote
 * (no rvn), its owner, fence and expiry — so an older holder's renewal also counts as a change.
 */
export function lockVersion(record: LockRecord): string {
  if (record.rvn !== undefined) return `rvn:${record.rvn}`;
  return `legacy:${record.owner ?? ''}:${record.fence}:${record.expiresAtMs ?? 'none'}`;
}

/** A held lock as a contender watches it: the version it saw and since when (its monotonic clock). */
export interface Observation {
  record: LockRecord;
  version: string;
  sinceMonoMs: number;
}

/** Notes `record` as seen at `monoNowMs`; the watch keeps running while the version is unchanged. */
export function observe(
  previous: Observation | undefined,
  record: LockRecord,
  monoNowMs: number,
): Observation {
  const version = lockVersion(record);
  if (previous !== undefined && previous.version === version) return previous;
  return { record, version, sinceMonoMs: monoNowMs };
}

/**
 * Monotonic instant from which the watched lock may be taken over: a full lease of the holder's
 * (its recorded `leaseMs`; an older item without one: `fallbackLeaseMs`) after the version was
 * first seen.
 */
export function takeoverDueMonoMs(observation: Observation, fallbackLeaseMs: number): number {
  return observation.sinceMonoMs + (observation.record.leaseMs ?? fallbackLeaseMs);
}

export type LeaseState = 'free' | 'released' | 'stale' | 'held-by-me' | 'held-by-other';

/**
 * The states in which `owner` may take the lock. `held-by-me` is included so an instance that
 * restarts (a reboot mid-bootstrap) takes its own lease back at once; the new fence makes any
 * earlier process of the same instance lose it at its next renewal or fenced write. `stale`:
 * held by another, but this contender has seen the same version for a full lease.
 */
export const ACQUIRABLE_STATES = [
  'free',
  'released',
  'stale',
  'held-by-me',
] as const satisfies readonly LeaseState[];
export type AcquirableState = (typeof ACQUIRABLE_STATES)[number];

/**
 * The state of `record` for `owner`. `takeOver` is the version the contender watched unchanged
 * for a full lease (AcquireRequest.takeOver); without it a lock held by another is never stale.
 */
export function leaseState(record: LockRecord | undefined, owner: string, takeOver?: LockRecord): LeaseState {
  if (record === undefined) return 'free';
  if (record.owner === undefined) return 'released';
  if (record.owner === owner) return 'held-by-me';
  if (takeOver !== undefined && lockVersion(takeOver) === lockVersion(record)) return 'stale';
  return 'held-by-other';
}

export function isAcquirable(state: LeaseState): state is AcquirableState {
  return (ACQUIRABLE_STATES as readonly LeaseState[]).includes(state);
}

export type AcquireOutcome =
  | { acquired: true; lease: Lease }
  /** Lost: `current` is the holder as the failed conditional write saw it. */
  | { acquired: false; current: LockRecord };

export type RenewOutcome =
  | { renewed: true; expiresAtMs: number; rvn: string }
  | { renewed: false; current: LockRecord | undefined };

export type ReleaseOutcome = { released: true } | { released: false; current: LockRecord | undefined };

export interface AcquireRequest {
  owner: string;
  /** Wall clock: stamps `expiresAtMs` and `acquiredAtMs` for display; decides nothing. */
  nowMs: number;
  leaseMs: number;
  /** The held lock, as seen unchanged for a full lease: take it over if it is still that version. */
  takeOver?: LockRecord;
}

/**
 * One lock of one cluster. Each method is a single conditional write (or read); a lost
 * condition is an outcome, not an exception. Availability failures throw (KbootError family).
 */
export interface LeaseLock {
  readonly cluster: string;
  readonly name: LockName;
  /**
   * Takes the lock when it is in an ACQUIRABLE_STATE, with fence = previous fence + 1 and a fresh
   * rvn.
   */
  tryAcquire(request: AcquireRequest, signal?: AbortSignal): Promise<AcquireOutcome>;
  /** Writes a fresh rvn (and expiry nowMs + leaseMs), only while owner and fence are still `lease`'s. */
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
  const stale =
    record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs ? " (expired by the holder's clock)" : '';
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
