/**
 * The ports through which the domain reads and changes a cluster's state. Split by who needs
 * what: a waiting worker needs only `ClusterRecordReader`; the boot flows and rotate write with
 * `ClusterRecordWriter`; status lists with `ClusterStateLister`. Every write is conditional; a
 * condition that fails surfaces as a StateConflictError saying which rule was broken.
 */

import type { ClusterRecord, Initialized, JoinMaterialStamp, RecordedFailure } from './cluster-record.js';
import type { LeaseRef, LockName, LockRecord } from './lease.js';
import type { MemberRecord } from './member.js';

export interface ClusterRecordReader {
  readonly tableName: string;
  /** One strongly consistent read; undefined when the cluster has no record (yet). */
  readRecord(cluster: string, signal?: AbortSignal): Promise<ClusterRecord | undefined>;
}

export type PutRecordOutcome =
  | { created: true; record: ClusterRecord }
  /** A record was there already: it wins; `differences` lists the fields that matter and differ. */
  | { created: false; record: ClusterRecord; differences: string[] };

export interface ClusterRecordWriter {
  /** Writes the record unless one exists; never overwrites. */
  putRecordIfAbsent(record: ClusterRecord, signal?: AbortSignal): Promise<PutRecordOutcome>;
  /**
   * Sets `initialized` once, only while `lease` (a bootstrap lease) is still held by its owner
   * with its fence — one transaction over the lock and the record. `nowMs` stamps `at` only.
   * `joinMaterial` (with the secret versions just published) is recorded in the same write.
   */
  markInitialized(
    lease: LeaseRef,
    nowMs: number,
    signal?: AbortSignal,
    joinMaterial?: JoinMaterialStamp,
  ): Promise<Initialized>;
  recordFailure(cluster: string, failure: RecordedFailure, signal?: AbortSignal): Promise<void>;
  /**
   * Refuses to replace a newer stamp with an older one. With `lease`, only while that lease is
   * still held (owner and fence): one transaction over the lock and the record, so the secret
   * versions a holder that lost its lease published are never recorded.
   */
  updateJoinMaterial(
    cluster: string,
    stamp: JoinMaterialStamp,
    signal?: AbortSignal,
    lease?: LeaseRef,
  ): Promise<void>;
}

export interface MemberRegistry {
  /** Records (or refreshes) who joined; an older join never replaces a newer one. */
  recordMember(cluster: string, member: MemberRecord, signal?: AbortSignal): Promise<void>;
}

/** When a member's kubeadm certificates expire, as the member itself reports (`kboot rotate`). */
export interface MemberCertificatesStamp {
  /** The first of its renewable kubeadm certificates to expire. */
  certificatesExpireAt: string;
  /** When it checked. */
  certificatesCheckedAt: string;
}

export interface MemberCertificatesRecorder {
  /**
   * Stamps the member's own item; a member whose item is gone (it left) is not recreated: that is
   * not an error, and nothing is written.
   */
  recordCertificates(
    cluster: string,
    instanceId: string,
    stamp: MemberCertificatesStamp,
    signal?: AbortSignal,
  ): Promise<void>;
}

export interface MemberRemover {
  /** Deletes the instance's member record; absent already is not an error (`kboot leave`). */
  removeMember(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void>;
}

/** Everything stored for one cluster. */
export interface ClusterState {
  cluster: string;
  record: ClusterRecord | undefined;
  /** Set instead of `record` when the stored record is malformed or newer than this kboot. */
  recordError: Error | undefined;
  locks: Partial<Record<LockName, LockRecord>>;
  /** Set instead of `locks[name]` for a lock item that is malformed. */
  lockErrors?: Partial<Record<LockName, Error>>;
  members: MemberRecord[];
}

/** The first item of a cluster's state that could not be read (record, then locks), if any. */
export function stateError(state: ClusterState): Error | undefined {
  return state.recordError ?? Object.values(state.lockErrors ?? {}).find((error) => error !== undefined);
}

export interface ClusterStateLister {
  readonly tableName: string;
  /** Undefined when nothing at all is stored for the cluster. */
  readClusterState(cluster: string, signal?: AbortSignal): Promise<ClusterState | undefined>;
  listClusterStates(signal?: AbortSignal): Promise<ClusterState[]>;
}
