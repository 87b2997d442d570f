/**
 * What the cluster store's writes and reads share: the table and its client, the call context of
 * an error, the record parsed from its item, the conditions on the record, and the transaction
 * that updates the record only while a lease is still held.
 */

import {
  type AttributeValue,
  type DynamoDBClient,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/clock.js';
import { StateConflictError } from '../../core/errors.js';
import { type ClusterRecord, parseClusterRecord } from '../../domain/state/cluster-record.js';
import type { LeaseRef } from '../../domain/state/lease.js';
import { expression, expressionParams } from './dynamodb-expressions.js';
import { type CallContext, itemData, itemKey, lockSk, META_SK, PK } from './dynamodb-items.js';
import { stillHeld } from './dynamodb-lease-lock.js';

/** The cluster store's table, its client and clock. */
export interface ClusterTable {
  dynamodb: DynamoDBClient;
  tableName: string;
  clock: Clock;
}

export const recordClauses = {
  exists: () => expression('attribute_exists(#pk)', { '#pk': PK }),
  absent: () => expression('attribute_not_exists(#pk)', { '#pk': PK }),
  notInitialized: () => expression('attribute_not_exists(#initialized)', { '#initialized': 'initialized' }),
  noJoinMaterial: () =>
    expression('attribute_not_exists(#joinMaterial)', { '#joinMaterial': 'joinMaterial' }),
  joinMaterialNotNewerThan: (updatedAt: string) =>
    expression(
      '#joinMaterial.#updatedAt <= :updatedAt',
      { '#joinMaterial': 'joinMaterial', '#updatedAt': 'updatedAt' },
      { ':updatedAt': updatedAt },
    ),
};

export interface CancellationReason {
  Code?: string;
  Item?: Record<string, AttributeValue>;
}

/** Why DynamoDB cancelled a transaction: one reason per item, in the order of the items. */
export function cancellationReasons(error: unknown): CancellationReason[] {
  return ((error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []).map(
    (reason) => reason ?? {},
  );
}

export function callContext(
  table: ClusterTable,
  doing: string,
  permission: string,
  signal: AbortSignal | undefined,
): CallContext {
  return { table: table.tableName, doing, permission, signal };
}

export function parseRecordItem(
  table: ClusterTable,
  cluster: string,
  item: Record<string, AttributeValue>,
): ClusterRecord {
  return parseClusterRecord(itemData(item), { cluster, table: table.tableName });
}

/**
 * One transaction: the lease still held (owner and fence) and an update of the cluster record.
 * A holder that lost the lease gets TransactionCanceledException with the lock item as it is.
 */
export function fencedRecordUpdate(
  table: ClusterTable,
  lease: LeaseRef,
  cluster: string,
  recordUpdate: ReturnType<typeof expressionParams>,
): TransactWriteItemsCommand {
  const lockCheck = expressionParams({ condition: stillHeld(lease) });
  return new TransactWriteItemsCommand({
    TransactItems: [
      {
        ConditionCheck: {
          TableName: table.tableName,
          Key: itemKey(lease.cluster, lockSk(lease.lock)),
          ConditionExpression: lockCheck.ConditionExpression,
          ExpressionAttributeNames: lockCheck.ExpressionAttributeNames,
          ExpressionAttributeValues: lockCheck.ExpressionAttributeValues,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Update: {
          TableName: table.tableName,
          Key: itemKey(cluster, META_SK),
          UpdateExpression: recordUpdate.UpdateExpression,
          ConditionExpression: recordUpdate.ConditionExpression,
          ExpressionAttributeNames: recordUpdate.ExpressionAttributeNames,
          ExpressionAttributeValues: recordUpdate.ExpressionAttributeValues,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ],
  });
}

export function noRecordError(
  table: ClusterTable,
  cluster: string,
  doing: string,
  cause: unknown,
): StateConflictError {
  return new StateConflictError(
    `cannot ${doing}: there is no cluster record for "${cluster}" in table ${table.tableName}`,
    {
      cause,
      hint: "create the cluster with 'kboot cluster create', or let the first master write the record",
    },
  );
}
