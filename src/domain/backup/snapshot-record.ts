/**
 * An etcd snapshot as the cluster's DynamoDB partition records it (`sk = snapshot#<key>`): where
 * the object is in S3, its SHA-256 and size as kboot streamed it, the etcd revision it holds at
 * least, who took it and when. A record is checked when read: a malformed one is refused with the
 * field named, never taken for a good snapshot (a restore trusts the hash it names).
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';

export const SNAPSHOT_SCHEMA_VERSION = 1;

/** `<cluster>/etcd/<ISO time>-rev<revision>.db`: sortable by time, the revision in the name. */
const KEY_PATTERN = /^[a-z0-9][a-z0-9-]*\/etcd\/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z-rev\d+\.db$/;

export const snapshotRecordShape = z.strictObject({
  schemaVersion: z.literal(SNAPSHOT_SCHEMA_VERSION),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
  key: z.string().regex(KEY_PATTERN, 'a key like prod/etcd/2026-01-01T00:00:00.000Z-rev42.db'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  sizeBytes: z.int().positive(),
  /** The etcd revision the snapshot holds at least (etcd's header before streaming). */
  revision: z.int().nonnegative(),
  takenAt: z.iso.datetime(),
  takenBy: z.string().min(1),
  /** The interval of the timer that took it: kboot status calls it stale after 3 of them. */
  intervalMs: z.int().positive(),
  /** The fence of the snapshot lease under which it was recorded. */
  fence: z.int().positive(),
});

export type SnapshotRecord = z.infer<typeof snapshotRecordShape>;

/** Checks a stored item; names every bad field (never its value: a hash is no secret, but a key may be long). */
export function parseSnapshotRecord(raw: unknown, what: string): SnapshotRecord {
  const parsed = snapshotRecordShape.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.join(', ')}`
      : `field ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
  );
  throw new StateConflictError(`${what} is malformed: ${fields.join('; ')}`, {
    hint: 'a newer kboot may have written it (upgrade kboot), or it was edited by hand: delete the item, the S3 object stays',
    details: { fields },
  });
}

/** The object key of a snapshot taken at `takenAtMs` holding `revision`. */
export function snapshotKey(cluster: string, takenAtMs: number, revision: number): string {
  return `${snapshotPrefix(cluster)}${new Date(takenAtMs).toISOString()}-rev${revision}.db`;
}

/** Every snapshot of a cluster is under this prefix (the IAM grant names the same). */
export function snapshotPrefix(cluster: string): string {
  return `${cluster}/etcd/`;
}
