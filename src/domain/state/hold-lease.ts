/**
 * Taking and keeping a lease while work runs:
 * - `acquireLease` tries once (watching a held lock for one lease of its holder), or polls with
 *   jitter until a deadline, and returns the outcome. A lock held by another is taken over only
 *   after its version (rvn) stayed unchanged for a full lease on this process's monotonic clock;
 *   wall clocks decide nothing (lease.ts);
 * - `holdLease` acquires (or fails with the holder named), runs `work(signal, fence)`, renews in
 *   the background every renewIntervalMs, and releases at the end, even on failure. When the
 *   lease is lost — a renewal's condition fails (someone else took it), or renewals keep failing
 *   until it would expire — `signal` is aborted with a StateConflictError and holdLease rejects
 *   with it at once, so the work stops and nothing is done under a lease this instance lost.
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import {
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  StateConflictError,
} from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  DEFAULT_LEASE_MS,
  describeHolder,
  type LeaseLock,
  type LockRecord,
  leaseLabel,
  leaseLostError,
  type Observation,
  type OwnLease,
  observe,
  remainingValidityMs,
  takeoverDueMonoMs,
} from './lease.js';
import { jitteredMs, progressTicker } from './polling.js';

export interface AcquireOptions {
  /** This instance's id. */
  owner: string;
  clock: Clock;
  logger: Logger;
  /** Default 10 minutes (kubeadm init can take several). */
  leaseMs?: number;
  /**
   * Instant (clock ms) to stop waiting for a held lock. Absent: try once — but a lock held by
   * another is watched for one lease of its holder (unless `watchHeld` is false): a change means
   * a live holder (not acquired, at once), no change a dead one (taken over).
   */
  acquireDeadlineMs?: number;
  /** Without a deadline: false gives up at the first sight of a held lock. Default true. */
  watchHeld?: boolean;
  /** Base delay between attempts while waiting (jittered); default 5 s. */
  pollMs?: number;
  signal?: AbortSignal;
  random?: () => number;
}

export interface HoldLeaseOptions extends AcquireOptions {
  /** Default leaseMs / 3. */
  renewIntervalMs?: number;
}

export type LeaseWork<T> = (signal: AbortSignal, fence: number) => Promise<T>;

const DEFAULT_POLL_MS = 5000;

function isTransient(error: unknown): boolean {
  return error instanceof AwsUnavailableError || error instanceof AwsThrottledError;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type HeldAcquireOutcome =
  | { acquired: true; lease: OwnLease }
  /** Not acquired: `current` is the lock as last seen. */
  | { acquired: false; current: LockRecord };

/**
 * Tries to take the lock; with a deadline, polls (jittered) while another instance holds it.
 * Each failed attempt notes the holder's version; once that version has stayed the same for a
 * full lease on this process's monotonic clock, the next attempt takes the lock over with a
 * write conditional on that version.
 */
export async function acquireLease(lock: LeaseLock, options: AcquireOptions): Promise<HeldAcquireOutcome> {
  const { clock, logger, owner, acquireDeadlineMs, signal } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const watchOnce = acquireDeadlineMs === undefined && options.watchHeld !== false;
  const label = leaseLabel(lock.cluster, lock.name);
  const startMs = clock.nowMs();
  const shouldLog = progressTicker();
  let lastSeen: LockRecord | undefined;
  let watched: Observation | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const sentMonoMs = clock.monotonicMs();
    const takeOver =
      watched !== undefined && sentMonoMs >= takeoverDueMonoMs(watched, leaseMs) ? watched.record : undefined;
    let outcome: Awaited<ReturnType<LeaseLock['tryAcquire']>> | undefined;
    try {
      outcome = await lock.tryAcquire(
        { owner, nowMs: clock.nowMs(), leaseMs, ...(takeOver === undefined ? {} : { takeOver }) },
        signal,
      );
    } catch (error) {
      if (acquireDeadlineMs === undefined || !isTransient(error) || clock.nowMs() >= acquireDeadlineMs)
        throw error;
      logger.warn(
        { err: error, cluster: lock.cluster, lock: lock.name },
        `could not reach the ${label}; retrying`,
      );
    }
    if (outcome?.acquired) {
      const fields = { cluster: lock.cluster, lock: lock.name, fence: outcome.lease.fence, leaseMs };
      if (takeOver !== undefined && outcome.lease.fence > takeOver.fence && takeOver.owner !== owner) {
        logger.warn(
          { ...fields, previousOwner: takeOver.owner, previousFence: takeOver.fence },
          `took over the ${label} from ${takeOver.owner}: it did not renew for a full lease`,
        );
      } else {
        logger.info(fields, `acquired the ${label}`);
      }
      return { acquired: true, lease: { ...outcome.lease, validFromMonoMs: sentMonoMs, leaseMs } };
    }
    if (outcome !== undefined) {
      lastSeen = outcome.current;
      // Seen now: after the holder's last write, so a full lease from here is past its validity.
      const seen = lastSeen.owner === undefined ? undefined : observe(watched, lastSeen, clock.monotonicMs());
      const changed = watched !== undefined && seen !== watched;
      watched = seen;
      if (watchOnce && (changed || seen === undefined)) return { acquired: false, current: lastSeen };
    }
    const nowMs = clock.nowMs();
    const giveUp = watchOnce
      ? watched === undefined
      : acquireDeadlineMs === undefined || nowMs >= acquireDeadlineMs;
    if (giveUp) return { acquired: false, current: lastSeen ?? { fence: 0 } };
    if (shouldLog(nowMs)) {
      logger.info(
        { cluster: lock.cluster, lock: lock.name, holder: lastSeen?.owner, elapsedMs: nowMs - startMs },
        `waiting for the ${label}: ${describeHolder(lastSeen, nowMs)}`,
      );
    }
    const untilTakeoverMs =
      watched === undefined ? pollMs : Math.max(1, takeoverDueMonoMs(watched, leaseMs) - clock.monotonicMs());
    const untilDeadlineMs = acquireDeadlineMs === undefined ? pollMs : acquireDeadlineMs - nowMs;
    const delayMs = Math.min(jitteredMs(pollMs, options.random), untilTakeoverMs, untilDeadlineMs);
    await clock.sleepMs(Math.max(1, delayMs), signal);
  }
}

/**
 * Runs `work` while holding the lease. Rejects with ClusterTimeoutError when the lock stayed held
 * past acquireDeadlineMs (StateConflictError when no deadline was given: one attempt).
 */
export async function holdLease<T>(
  lock: LeaseLock,
  options: HoldLeaseOptions,
  work: LeaseWork<T>,
): Promise<T> {
  const outcome = await acquireLease(lock, options);
  if (!outcome.acquired) throw notAcquiredError(lock, options, outcome.current);
  return runUnderLease(lock, outcome.lease, options, work);
}

export function notAcquiredError(lock: LeaseLock, options: AcquireOptions, current: LockRecord): Error {
  const label = leaseLabel(lock.cluster, lock.name);
  const holder = describeHolder(current, options.clock.nowMs());
  const hint = `check the holder's logs and \`kboot status --cluster ${lock.cluster}\`; a dead holder is replaced once its lease expires`;
  const details = { cluster: lock.cluster, lock: lock.name, holder: current.owner, fence: current.fence };
  if (options.acquireDeadlineMs === undefined) {
    return new StateConflictError(`could not take the ${label}: ${holder}`, { hint, details });
  }
  return new ClusterTimeoutError(`timed out waiting for the ${label}: ${holder}`, { hint, details });
}

/** Runs `work` under an acquired lease: renews in the background, releases at the end. */
export async function runUnderLease<T>(
  lock: LeaseLock,
  acquired: OwnLease,
  options: HoldLeaseOptions,
  work: LeaseWork<T>,
): Promise<T> {
  const { clock, logger } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const renewIntervalMs = options.renewIntervalMs ?? Math.floor(leaseMs / 3);
  const held = { lease: acquired };
  const workController = new AbortController();
  const onOuterAbort = (): void => workController.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const stopRenewing = new AbortController();
  const renewing = keepRenewing(lock, held, {
    clock,
    logger,
    leaseMs,
    renewIntervalMs,
    stop: stopRenewing.signal,
    onLost: (error) => workController.abort(error),
  });
  const finish = async (): Promise<void> => {
    stopRenewing.abort();
    await renewing;
    options.signal?.removeEventListener('abort', onOuterAbort);
  };

  let result: T;
  try {
    result = await untilAborted(work(workController.signal, acquired.fence), workController.signal);
  } catch (error) {
    await finish();
    await releaseAfterFailure(lock, held.lease, options);
    throw error;
  }
  await finish();
  const nowMs = clock.nowMs();
  let released: Awaited<ReturnType<LeaseLock['release']>>;
  try {
    released = await lock.release(held.lease, nowMs);
  } catch (error) {
    logger.warn(
      { err: error, cluster: lock.cluster, lock: lock.name, fence: held.lease.fence },
      `could not release the ${leaseLabel(lock.cluster, lock.name)}; it frees itself when it expires`,
    );
    return result;
  }
  if (!released.released) throw leaseLostError(held.lease, released.current, nowMs, 'releasing it');
  logger.info(
    { cluster: lock.cluster, lock: lock.name, fence: held.lease.fence },
    `released the ${leaseLabel(lock.cluster, lock.name)}`,
  );
  return result;
}

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

async function releaseAfterFailure(
  lock: LeaseLock,
  lease: OwnLease,
  options: HoldLeaseOptions,
): Promise<void> {
  const label = leaseLabel(lock.cluster, lock.name);
  const nowMs = options.clock.nowMs();
  try {
    const outcome = await lock.release(lease, nowMs);
    if (outcome.released) {
      options.logger.info(
        { cluster: lock.cluster, lock: lock.name, fence: lease.fence },
        `released the ${label}`,
      );
    } else {
      options.logger.warn(
        { cluster: lock.cluster, lock: lock.name, fence: lease.fence },
        `did not release the ${label}: ${describeHolder(outcome.current, nowMs)}`,
      );
    }
  } catch (error) {
    options.logger.warn(
      { err: error, cluster: lock.cluster, lock: lock.name, fence: lease.fence },
      `could not release the ${label}; it frees itself when it expires`,
    );
  }
}

interface RenewSettings {
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  renewIntervalMs: number;
  stop: AbortSignal;
  onLost: (error: StateConflictError) => void;
}

class RenewTimedOut extends Error {}

/**
 * Renews until `stop` aborts. A failed renewal is retried sooner (every leaseMs/10, at most
 * renewIntervalMs); when the next retry would come after the lease's validity ends — leaseMs on
 * this process's monotonic clock from the moment the last successful write was sent — the lease
 * counts as lost: work stops while the lease is still valid, before anyone else can take it
 * (a contender waits a full lease after it last saw a change, which is later still).
 */
async function keepRenewing(lock: LeaseLock, held: { lease: OwnLease }, s: RenewSettings): Promise<void> {
  const label = leaseLabel(lock.cluster, lock.name);
  const retryMs = Math.max(1, Math.min(s.renewIntervalMs, Math.floor(s.leaseMs / 10)));
  let delayMs = s.renewIntervalMs;
  while (!s.stop.aborted) {
    try {
      await s.clock.sleepMs(delayMs, s.stop);
    } catch {
      return;
    }
    const sentMonoMs = s.clock.monotonicMs();
    const remainingMs = remainingValidityMs(held.lease, sentMonoMs);
    try {
      if (remainingMs <= 0) throw new RenewTimedOut('the lease had already expired');
      // Leave a retry's worth of margin, so a call that never answers still ends the work before expiry.
      const outcome = await callBefore(s.clock, Math.max(1, remainingMs - retryMs), s.stop, (signal) =>
        lock.renew(held.lease, { nowMs: s.clock.nowMs(), leaseMs: s.leaseMs }, signal),
      );
      if (!outcome.renewed) {
        s.onLost(leaseLostError(held.lease, outcome.current, s.clock.nowMs(), 'renewing it'));
        return;
      }
      held.lease = {
        ...held.lease,
        expiresAtMs: outcome.expiresAtMs,
        rvn: outcome.rvn,
        validFromMonoMs: sentMonoMs,
        leaseMs: s.leaseMs,
      };
      s.logger.debug(
        { cluster: lock.cluster, lock: lock.name, fence: held.lease.fence },
        `renewed the ${label}`,
      );
      delayMs = s.renewIntervalMs;
    } catch (error) {
      if (s.stop.aborted) return;
      const leftMs = remainingValidityMs(held.lease, s.clock.monotonicMs());
      if (leftMs <= retryMs) {
        s.onLost(
          new StateConflictError(
            `lost the ${label}: could not renew it before it expired (fence ${held.lease.fence}; last error: ${messageOf(error)})`,
            {
              cause: error,
              hint: `check this instance's access to DynamoDB, then \`kboot status --cluster ${lock.cluster}\``,
              details: { cluster: lock.cluster, lock: lock.name, fence: held.lease.fence },
            },
          ),
        );
        return;
      }
      s.logger.warn(
        { err: error, cluster: lock.cluster, lock: lock.name, leftMs },
        `could not renew the ${label}; retrying (expires in ${formatDurationMs(leftMs)})`,
      );
      delayMs = retryMs;
    }
  }
}

/** Runs `call`, giving up (RenewTimedOut) after `timeoutMs` of clock time or when `stop` aborts. */
async function callBefore<T>(
  clock: Clock,
  timeoutMs: number,
  stop: AbortSignal,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onStop = (): void => controller.abort(stop.reason);
  stop.addEventListener('abort', onStop, { once: true });
  const timeout = clock.sleepMs(timeoutMs, controller.signal).then(
    () => {
      throw new RenewTimedOut(`no answer within ${formatDurationMs(timeoutMs)}, when the lease expires`);
    },
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([call(controller.signal), timeout]);
  } finally {
    controller.abort();
    stop.removeEventListener('abort', onStop);
  }
}

/** An acquired lease kept by a flow's runner (src/domain/steps): renewed until released or lost. */
export interface LeaseHolding {
  readonly lease: OwnLease;
  readonly label: string;
  /** Aborted with a StateConflictError when the lease is lost. */
  readonly lost: AbortSignal;
  /** Stops renewing, then releases the lease unless it was lost; logs, never throws. */
  release(): Promise<void>;
}

/** Renews `acquired` in the background until `release()`; its loss aborts `lost`. */
export function holdAcquired(lock: LeaseLock, acquired: OwnLease, options: HoldLeaseOptions): LeaseHolding {
  const { clock, logger } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const held = { lease: acquired };
  const lost = new AbortController();
  const stopRenewing = new AbortController();
  const renewing = keepRenewing(lock, held, {
    clock,
    logger,
    leaseMs,
    renewIntervalMs: options.renewIntervalMs ?? Math.floor(leaseMs / 3),
    stop: stopRenewing.signal,
    onLost: (error) => lost.abort(error),
  });
  return {
    get lease() {
      return held.lease;
    },
    label: leaseLabel(lock.cluster, lock.name),
    lost: lost.signal,
    async release() {
      stopRenewing.abort();
      await renewing;
      if (lost.signal.aborted) {
        logger.warn(
          { cluster: lock.cluster, lock: lock.name, fence: held.lease.fence },
          `not releasing the ${leaseLabel(lock.cluster, lock.name)}: it was lost`,
        );
        return;
      }
      await releaseAfterFailure(lock, held.lease, options);
    },
  };
}
