/**
 * The item layout of the kboot table (one table, every cluster):
 *   pk = cluster#<name>, sk = meta                     the cluster record
 *   pk = cluster#<name>, sk = lock#<lock name>         a lease lock (never deleted)
 *   pk = cluster#<name>, sk = member#<instance id>     who joined
 *   pk = leave#<name>,   sk = instance#<instance id>   a worker's leave request (a partition of its
 *                                                      own: the only one workers may write)
 * and the one way DynamoDB calls are made and their failures mapped.
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConfigError } from '../../core/errors.js';
import type { LockName } from '../../domain/state/lease.js';
import { awsErrorName, rethrowAws } from './errors.js';

export const PK = 'pk';
export const SK = 'sk';
export const META_SK = 'meta';
const CLUSTER_PREFIX = 'cluster#';
const LOCK_PREFIX = 'lock#';
const MEMBER_PREFIX = 'member#';
const LEAVE_PREFIX = 'leave#';
export const LEAVE_REQUEST_SK_PREFIX = 'instance#';

export type ItemKey = Record<string, AttributeValue>;

export function clusterPk(cluster: string): string {
  return `${CLUSTER_PREFIX}${cluster}`;
}

/** The partition of a cluster's leave requests (iam/scope.ts leaveLeadingKey names the same). */
export function leavePk(cluster: string): string {
  return `${LEAVE_PREFIX}${cluster}`;
}

export function leaveRequestKey(cluster: string, instanceId: string): ItemKey {
  return { [PK]: { S: leavePk(cluster) }, [SK]: { S: `${LEAVE_REQUEST_SK_PREFIX}${instanceId}` } };
}

export function clusterFromPk(pk: string): string | undefined {
  return pk.startsWith(CLUSTER_PREFIX) ? pk.slice(CLUSTER_PREFIX.length) : undefined;
}

export function lockSk(lock: LockName): string {
  return `${LOCK_PREFIX}${lock}`;
}

export function memberSk(instanceId: string): string {
  return `${MEMBER_PREFIX}${instanceId}`;
}

export type SortKeyKind =
  | { kind: 'meta' }
  | { kind: 'lock'; name: string }
  | { kind: 'member'; instanceId: string }
  | { kind: 'other' };

export function parseSk(sk: string): SortKeyKind {
  if (sk === META_SK) return { kind: 'meta' };
  if (sk.startsWith(LOCK_PREFIX)) return { kind: 'lock', name: sk.slice(LOCK_PREFIX.length) };
  if (sk.startsWith(MEMBER_PREFIX)) return { kind: 'member', instanceId: sk.slice(MEMBER_PREFIX.length) };
  return { kind: 'other' };
}

export function itemKey(cluster: string, sk: string): ItemKey {
  return { [PK]: { S: clusterPk(cluster) }, [SK]: { S: sk } };
}

/**
 * The items of a Query or Scan, page after page (each page's LastEvaluatedKey is the next one's
 * ExclusiveStartKey) until the last; stopping the loop early reads no further page.
 */
export async function* pages(
  read: (startKey: ItemKey | undefined) => Promise<{
    Items?: ItemKey[] | undefined;
    LastEvaluatedKey?: ItemKey | undefined;
  }>,
): AsyncGenerator<ItemKey[]> {
  let startKey: ItemKey | undefined;
  do {
    const out = await read(startKey);
    yield out.Items ?? [];
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
}

/** An item's attributes without its keys, as plain values. */
export function itemData(item: Record<string, AttributeValue>): Record<string, unknown> {
  const data = unmarshall(item);
  delete data[PK];
  delete data[SK];
  return data;
}

export function isConditionFailed(error: unknown): boolean {
  return awsErrorName(error) === 'ConditionalCheckFailedException';
}

/** The item a failed condition saw (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export function conditionFailedItem(error: unknown): Record<string, AttributeValue> | undefined {
  return (error as { Item?: Record<string, AttributeValue> }).Item;
}

export interface CallContext {
  table: string;
  /** "reading the cluster record of \"prod\"", for messages. */
  doing: string;
  /** IAM action needed, for the denied hint. */
  permission: string;
  signal?: AbortSignal;
}

/** Maps a DynamoDB failure to the error family (a missing table is a ConfigError); never returns. */
export function rethrowDynamo(error: unknown, call: CallContext): never {
  if (call.signal?.aborted) throw call.signal.reason;
  if (awsErrorName(error) === 'ResourceNotFoundException') {
    throw new ConfigError(`DynamoDB table ${call.table} does not exist (while ${call.doing})`, {
      cause: error,
      hint: "create it with 'kboot cluster create', or name the right table with --table, KBOOT_TABLE or the kboot.io/table tag, and check the region",
    });
  }
  rethrowAws(error, `${call.doing} in DynamoDB table ${call.table}`, call.permission);
}
