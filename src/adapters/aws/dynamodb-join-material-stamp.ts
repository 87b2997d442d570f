/**
 * The join material stamp on the cluster record: never older over newer, and with a lease, only
 * while that lease is still held (one transaction).
 */

import { type AttributeValue, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StateConflictError } from '../../core/errors.js';
import type { JoinMaterialStamp } from '../../domain/state/cluster-record.js';
import { describeHolder, type LeaseRef, leaseLabel } from '../../domain/state/lease.js';
import {
  type ClusterTable,
  callContext,
  cancellationReasons,
  fencedRecordUpdate,
  noRecordError,
  parseRecordItem,
  recordClauses,
} from './dynamodb-cluster-table.js';
import { allOf, anyOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import { conditionFailedItem, isConditionFailed, itemKey, META_SK, rethrowDynamo } from './dynamodb-items.js';
import { decodeLock } from './dynamodb-lease-lock.js';
import { awsErrorName } from './errors.js';

export async function updateJoinMaterial(
  table: ClusterTable,
  cluster: string,
  stamp: JoinMaterialStamp,
  signal?: AbortSignal,
  lease?: LeaseRef,
): Promise<void> {
  const recordUpdate = expressionParams({
    condition: allOf(
      recordClauses.exists(),
      anyOf(recordClauses.noJoinMaterial(), recordClauses.joinMaterialNotNewerThan(stamp.updatedAt)),
    ),
    update: update({
      set: [
        expression(
          '#joinMaterial = :joinMaterial',
          { '#joinMaterial': 'joinMaterial' },
          { ':joinMaterial': stamp },
        ),
      ],
    }),
  });
  if (lease !== undefined) {
    await updateJoinMaterialFenced(table, cluster, stamp, recordUpdate, lease, signal);
    return;
  }
  try {
    await table.dynamodb.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: itemKey(cluster, META_SK),
        ...recordUpdate,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    if (isConditionFailed(error))
      throw stampConflict(table, cluster, stamp, conditionFailedItem(error), error);
    rethrowDynamo(
      error,
      callContext(table, `recording join material of cluster "${cluster}"`, 'dynamodb:UpdateItem', signal),
    );
  }
}

/** The stamp and its secret versions, only while `lease` is still held: one transaction. */
async function updateJoinMaterialFenced(
  table: ClusterTable,
  cluster: string,
  stamp: JoinMaterialStamp,
  recordUpdate: ReturnType<typeof expressionParams>,
  lease: LeaseRef,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await table.dynamodb.send(fencedRecordUpdate(table, lease, cluster, recordUpdate), {
      abortSignal: signal,
    });
  } catch (error) {
    if (awsErrorName(error) !== 'TransactionCanceledException') {
      rethrowDynamo(
        error,
        callContext(
          table,
          `recording join material of cluster "${cluster}"`,
          'dynamodb:TransactWriteItems',
          signal,
        ),
      );
    }
    const [lockReason, recordReason] = cancellationReasons(error);
    if (lockReason?.Code === 'ConditionalCheckFailed') {
      const current = decodeLock(lockReason.Item, `the ${leaseLabel(cluster, lease.lock)}`);
      throw new StateConflictError(
        `not recording join material of cluster "${cluster}": this instance (${lease.owner}, fence ${lease.fence}) no longer holds the ${leaseLabel(cluster, lease.lock)}: ${describeHolder(current, table.clock.nowMs())}`,
        {
          cause: error,
          hint: `the material it published is never read; check \`kboot status --cluster ${cluster}\``,
          details: { cluster, owner: lease.owner, fence: lease.fence },
        },
      );
    }
    if (recordReason?.Code === 'ConditionalCheckFailed') {
      throw stampConflict(table, cluster, stamp, recordReason.Item, error);
    }
    throw new StateConflictError(
      `DynamoDB cancelled recording join material of cluster "${cluster}" (${[lockReason, recordReason].map((r) => r?.Code ?? 'None').join(', ')})`,
      { cause: error, hint: 'run kboot rotate again' },
    );
  }
}

function stampConflict(
  table: ClusterTable,
  cluster: string,
  stamp: JoinMaterialStamp,
  old: Record<string, AttributeValue> | undefined,
  error: unknown,
): StateConflictError {
  if (old === undefined) return noRecordError(table, cluster, 'record the join material', error);
  const newer = parseRecordItem(table, cluster, old).joinMaterial?.updatedAt ?? 'unknown';
  return new StateConflictError(
    `not recording join material of cluster "${cluster}" updated at ${stamp.updatedAt}: the record already has newer join material (updated at ${newer})`,
    { cause: error, hint: 'another instance rotated the join material more recently; nothing to do' },
  );
}
