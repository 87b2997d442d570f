/**
 * The ports of `kboot etcd snapshot` (and restore): etcd's snapshot stream, the S3 objects, the
 * records in the cluster's DynamoDB partition. Adapters: src/adapters/etcd/snapshot.ts,
 * src/adapters/aws/s3-snapshots.ts, src/adapters/aws/dynamodb-snapshots.ts.
 */

import type { LeaseRef } from '../state/lease.js';
import type { SnapshotRecord } from './snapshot-record.js';

/** A snapshot being read from etcd: its revision (known before the data), then the data. */
export interface EtcdSnapshotStream {
  /** The revision etcd reported just before it started the snapshot: the snapshot holds at least it. */
  revision: number;
  /** etcd's version, for the log. */
  etcdVersion: string;
  /** The snapshot's bytes in order (etcd's 32 KiB chunks, SHA-256 trailer included). */
  chunks: AsyncIterable<Uint8Array>;
}

export interface EtcdSnapshotSource {
  open(signal: AbortSignal): Promise<EtcdSnapshotStream>;
}

export interface SnapshotObjects {
  readonly bucket: string;
  /** Streams `body` to `key` (multipart), never holding it whole; aborted uploads leave nothing. */
  upload(key: string, body: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void>;
  /** Deletes objects (a missing one counts as deleted). */
  remove(keys: readonly string[], signal: AbortSignal): Promise<void>;
  /** The object's bytes, streamed (restore). Absent: undefined. */
  download(key: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array> | undefined>;
}

export interface SnapshotRecords {
  /** Every snapshot record of the cluster, each checked (a malformed one throws, naming it). */
  list(cluster: string, signal: AbortSignal): Promise<SnapshotRecord[]>;
  /** Writes a new record, only while `lease` is held (owner and fence). */
  put(cluster: string, record: SnapshotRecord, lease: LeaseRef, signal: AbortSignal): Promise<void>;
  /** Deletes records by key, only while `lease` is held. */
  remove(cluster: string, keys: readonly string[], lease: LeaseRef, signal: AbortSignal): Promise<void>;
}

export interface SnapshotPorts {
  source: EtcdSnapshotSource;
  objects: SnapshotObjects;
  records: SnapshotRecords;
}
