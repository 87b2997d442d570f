/**
 * An in-memory LeaseLock applying the domain's rules (leaseState, ACQUIRABLE_STATES) the way the
 * DynamoDB adapter's conditional writes do. Hooks let a test make a call fail or hang.
 */

import {
  type AcquireOutcome,
  type AcquireRequest,
  isAcquirable,
  type LeaseLock,
  type LeaseRef,
  type LockName,
  type LockRecord,
  leaseState,
  type ReleaseOutcome,
  type RenewOutcome,
} from '../../../../src/domain/state/lease.js';

export class FakeLeaseLock implements LeaseLock {
  readonly cluster: string;
  readonly name: LockName;
  record: LockRecord | undefined;
  readonly calls: string[] = [];
  /** When set and returning a value or throwing, replaces the real renew. */
  onRenew: ((lease: LeaseRef) => RenewOutcome | Promise<RenewOutcome> | undefined) | undefined;
  onRelease: ((lease: LeaseRef) => ReleaseOutcome | Promise<ReleaseOutcome> | undefined) | undefined;
  /**
   * A live holder: while another instance holds the lock, it renews (a new rvn) before each of
   * this lock's acquire attempts, so a contender never sees the same version twice.
   */
  holderRenews = false;

  constructor(cluster = 'prod', name: LockName = 'bootstrap', record?: LockRecord) {
    this.cluster = cluster;
    this.name = name;
    this.record = record;
  }

  #rvns = 0;

  #nextRvn(): string {
    this.#rvns += 1;
    return `rvn-${this.#rvns}`;
  }

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    this.calls.push('tryAcquire');
    if (this.holderRenews && this.record?.owner !== undefined && this.record.owner !== request.owner) {
      this.record = { ...this.record, rvn: this.#nextRvn() };
    }
    if (!isAcquirable(leaseState(this.record, request.owner, request.takeOver))) {
      return { acquired: false, current: { ...(this.record as LockRecord) } };
    }
    const fence = (this.record?.fence ?? 0) + 1;
    const expiresAtMs = request.nowMs + request.leaseMs;
    const rvn = this.#nextRvn();
    this.record = {
      owner: request.owner,
      expiresAtMs,
      fence,
      rvn,
      leaseMs: request.leaseMs,
      acquiredAtMs: request.nowMs,
    };
    return {
      acquired: true,
      lease: { cluster: this.cluster, lock: this.name, owner: request.owner, fence, expiresAtMs, rvn },
    };
  }

  #stillHeld(lease: LeaseRef): boolean {
    return this.record?.owner === lease.owner && this.record.fence === lease.fence;
  }

  async renew(lease: LeaseRef, timing: { nowMs: number; leaseMs: number }): Promise<RenewOutcome> {
    this.calls.push('renew');
    const hooked = await this.onRenew?.(lease);
    if (hooked !== undefined) return hooked;
    if (!this.#stillHeld(lease)) return { renewed: false, current: this.record && { ...this.record } };
    const expiresAtMs = timing.nowMs + timing.leaseMs;
    const rvn = this.#nextRvn();
    this.record = {
      ...(this.record as LockRecord),
      expiresAtMs,
      rvn,
      leaseMs: timing.leaseMs,
      renewedAtMs: timing.nowMs,
    };
    return { renewed: true, expiresAtMs, rvn };
  }

  async release(lease: LeaseRef, nowMs: number): Promise<ReleaseOutcome> {
    this.calls.push('release');
    const hooked = await this.onRelease?.(lease);
    if (hooked !== undefined) return hooked;
    if (!this.#stillHeld(lease)) return { released: false, current: this.record && { ...this.record } };
    this.record = { fence: lease.fence, releasedAtMs: nowMs };
    return { released: true };
  }

  async read(): Promise<LockRecord | undefined> {
    this.calls.push('read');
    return this.record && { ...this.record };
  }
}
