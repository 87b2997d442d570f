/**
 * SnapshotRecords in the kboot table: one item per snapshot in the cluster's partition,
 * `pk = cluster#<name>`, `sk = snapshot#<object key>`. Written and deleted only in a transaction
 * that also checks the snapshot lease (owner and fence), so a member that lost the lease records
 * and deletes nothing. Read back with one Query (`begins_with(sk, "snapshot#")`), each item checked.
 */

import {
  type CancellationReason,
  type DynamoDBClient,
  QueryCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Clock } from '../../core/clock.js';
import { StateConflictError } from '../../core/errors.js';
import type { SnapshotRecords } from '../../domain/backup/ports.js';
import { parseSnapshotRecord, type SnapshotRecord } from '../../domain/backup/snapshot-record.js';
import { describeHolder, type LeaseRef, leaseLabel } from '../../domain/state/lease.js';
import { expressionParams } from './dynamodb-expressions.js';
import {
  clusterPk,
  type ItemKey,
  itemData,
  itemKey,
  lockSk,
  PK,
  pages,
  rethrowDynamo,
  SK,
} from './dynamodb-items.js';
import { decodeLock, stillHeld } from './dynamodb-lease-lock.js';
import { awsErrorName } from './errors.js';

export const SNAPSHOT_SK_PREFIX = 'snapshot#';
/** A transaction holds at most 100 items: the lock check and 99 deletions. */
const DELETES_PER_TRANSACTION = 99;

export interface DynamoDbSnapshotSettings {
  dynamodb: DynamoDBClient;
  tableName: string;
  clock: Clock;
}

export class DynamoDbSnapshotRecords implements SnapshotRecords {
  readonly #dynamodb: DynamoDBClient;
  readonly #table: string;
  readonly #clock: Clock;

  constructor(settings: DynamoDbSnapshotSettings) {
    this.#dynamodb = settings.dynamodb;
    this.#table = settings.tableName;
    this.#clock = settings.clock;
  }

  async list(cluster: string, signal: AbortSignal): Promise<SnapshotRecord[]> {
    const items: ItemKey[] = [];
    try {
      const query = (startKey: ItemKey | undefined) =>
        this.#dynamodb.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            ExpressionAttributeValues: {
              ':pk': { S: clusterPk(cluster) },
              ':prefix': { S: SNAPSHOT_SK_PREFIX },
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: signal },
        );
      for await (const page of pages(query)) items.push(...page);
    } catch (error) {
      rethrowDynamo(error, {
        table: this.#table,
        doing: `reading the snapshot records of cluster "${cluster}"`,
        permission: 'dynamodb:Query',
        signal,
      });
    }
    return items.map((item) =>
      parseSnapshotRecord(
        itemData(item),
        `snapshot record ${item[SK]?.S ?? '?'} of cluster "${cluster}" in table ${this.#table}`,
      ),
    );
  }

  async put(cluster: string, record: SnapshotRecord, lease: LeaseRef, signal: AbortSignal): Promise<void> {
    await this.#fenced(
      cluster,
      lease,
      [
        {
          Put: {
            TableName: this.#table,
            Item: { ...itemKey(cluster, `${SNAPSHOT_SK_PREFIX}${record.key}`), ...marshall(record) },
            ConditionExpression: 'attribute_not_exists(#sk)',
            ExpressionAttributeNames: { '#sk': SK },
          },
        },
      ],
      `recording snapshot ${record.key}`,
      signal,
    );
  }

  async remove(
    cluster: string,
    keys: readonly string[],
    lease: LeaseRef,
    signal: AbortSignal,
  ): Promise<void> {
    for (let at = 0; at < keys.length; at += DELETES_PER_TRANSACTION) {
      const batch = keys.slice(at, at + DELETES_PER_TRANSACTION);
      await this.#fenced(
        cluster,
        lease,
        batch.map((key) => ({
          Delete: { TableName: this.#table, Key: itemKey(cluster, `${SNAPSHOT_SK_PREFIX}${key}`) },
        })),
        `deleting ${batch.length} snapshot record(s)`,
        signal,
      );
    }
  }

  /** `writes` in one transaction with the check that `lease` is still held. */
  async #fenced(
    cluster: string,
    lease: LeaseRef,
    writes: TransactWriteItem[],
    doing: string,
    signal: AbortSignal,
  ): Promise<void> {
    const check = expressionParams({ condition: stillHeld(lease) });
    try {
      await this.#dynamodb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.#table,
                Key: itemKey(cluster, lockSk(lease.lock)),
                ConditionExpression: check.ConditionExpression,
                ExpressionAttributeNames: check.ExpressionAttributeNames,
                ExpressionAttributeValues: check.ExpressionAttributeValues,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...writes,
          ],
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (awsErrorName(error) !== 'TransactionCanceledException') {
        rethrowDynamo(error, {
          table: this.#table,
          doing: `${doing} of cluster "${cluster}"`,
          permission: 'dynamodb:TransactWriteItems',
          signal,
        });
      }
      const reasons = (
        (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []
      ).map((reason) => reason ?? {});
      const lockReason = reasons[0];
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        const current = decodeLock(lockReason.Item, `the ${leaseLabel(cluster, lease.lock)}`);
        throw new StateConflictError(
          `not ${doing} of cluster "${cluster}": this instance (${lease.owner}, fence ${lease.fence}) no longer holds the ${leaseLabel(cluster, lease.lock)}: ${describeHolder(current, this.#clock.nowMs())}`,
          { cause: error, hint: 'another member took over; its run takes the snapshot' },
        );
      }
      throw new StateConflictError(
        `DynamoDB cancelled ${doing} of cluster "${cluster}" (${reasons.map((r) => r.Code ?? 'None').join(', ')})`,
        { cause: error, hint: 'run kboot etcd snapshot again' },
      );
    }
  }
}
