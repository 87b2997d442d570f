/**
 * The cluster's state in the kboot table: the metadata record (sk = meta), member records, and
 * the reads status needs. Every write is conditional; a failed condition comes back with the item
 * as it was (ALL_OLD) and becomes a StateConflictError that says which rule was broken. The init
 * flag is one transaction over the bootstrap lock and the record, so only the current lock holder
 * sets it, once.
 */

import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type Clock, systemClock } from '../../core/clock.js';
import { redactText } from '../../core/secrets.js';
import {
  type ClusterRecord,
  type Initialized,
  type JoinMaterialStamp,
  type RecordedFailure,
  recordDifferences,
} from '../../domain/state/cluster-record.js';
import type {
  ClusterRecordReader,
  ClusterRecordWriter,
  ClusterState,
  ClusterStateLister,
  MemberRegistry,
  MemberRemover,
  PutRecordOutcome,
} from '../../domain/state/cluster-store.js';
import type { LeaseRef, LockName } from '../../domain/state/lease.js';
import type { MemberRecord } from '../../domain/state/member.js';
import { listClusterStates, readClusterState } from './dynamodb-cluster-state.js';
import {
  type ClusterTable,
  callContext,
  noRecordError,
  parseRecordItem,
  recordClauses,
} from './dynamodb-cluster-table.js';
import { anyOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import {
  clusterPk,
  conditionFailedItem,
  isConditionFailed,
  itemKey,
  META_SK,
  memberSk,
  PK,
  rethrowDynamo,
  SK,
} from './dynamodb-items.js';
import { updateJoinMaterial } from './dynamodb-join-material-stamp.js';
import { DynamoDbLeaseLock } from './dynamodb-lease-lock.js';
import { markInitialized } from './dynamodb-mark-initialized.js';

const memberClauses = {
  absent: () => expression('attribute_not_exists(#pk)', { '#pk': PK }),
  joinedNoLaterThan: (joinedAt: string) =>
    expression('#joinedAt <= :joinedAt', { '#joinedAt': 'joinedAt' }, { ':joinedAt': joinedAt }),
};

/** Longest failure message kept in the record. */
const FAILURE_MESSAGE_MAX_CHARS = 2000;

export interface DynamoDbClusterStoreSettings {
  dynamodb: DynamoDBClient;
  tableName: string;
  clock?: Clock;
}

export class DynamoDbClusterStore
  implements ClusterRecordReader, ClusterRecordWriter, MemberRegistry, MemberRemover, ClusterStateLister
{
  readonly tableName: string;
  readonly #table: ClusterTable;

  constructor(settings: DynamoDbClusterStoreSettings) {
    this.tableName = settings.tableName;
    this.#table = {
      dynamodb: settings.dynamodb,
      tableName: settings.tableName,
      clock: settings.clock ?? systemClock,
    };
  }

  /** A lease lock of one cluster, in this table. */
  leaseLock(cluster: string, name: LockName): DynamoDbLeaseLock {
    return new DynamoDbLeaseLock({
      dynamodb: this.#table.dynamodb,
      tableName: this.tableName,
      cluster,
      name,
    });
  }

  async readRecord(cluster: string, signal?: AbortSignal): Promise<ClusterRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.#table.dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: itemKey(cluster, META_SK),
          ConsistentRead: true,
        }),
        { abortSignal: signal },
      );
      item = out.Item;
    } catch (error) {
      rethrowDynamo(
        error,
        callContext(this.#table, `reading the cluster record of "${cluster}"`, 'dynamodb:GetItem', signal),
      );
    }
    return item === undefined ? undefined : parseRecordItem(this.#table, cluster, item);
  }

  async putRecordIfAbsent(record: ClusterRecord, signal?: AbortSignal): Promise<PutRecordOutcome> {
    const cluster = record.clusterName;
    try {
      await this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(
            { [PK]: clusterPk(cluster), [SK]: META_SK, ...record },
            { removeUndefinedValues: true },
          ),
          ...expressionParams({ condition: recordClauses.absent() }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return { created: true, record };
    } catch (error) {
      const old = isConditionFailed(error) ? conditionFailedItem(error) : undefined;
      if (old !== undefined) {
        const existing = parseRecordItem(this.#table, cluster, old);
        return { created: false, record: existing, differences: recordDifferences(existing, record) };
      }
      rethrowDynamo(
        error,
        callContext(this.#table, `writing the cluster record of "${cluster}"`, 'dynamodb:PutItem', signal),
      );
    }
  }

  async markInitialized(
    lease: LeaseRef,
    nowMs: number,
    signal?: AbortSignal,
    joinMaterial?: JoinMaterialStamp,
  ): Promise<Initialized> {
    return markInitialized(this.#table, lease, nowMs, signal, joinMaterial);
  }

  async recordFailure(cluster: string, failure: RecordedFailure, signal?: AbortSignal): Promise<void> {
    const stored: RecordedFailure = {
      ...failure,
      message: redactText(failure.message).slice(0, FAILURE_MESSAGE_MAX_CHARS),
    };
    try {
      await this.#table.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: itemKey(cluster, META_SK),
          ...expressionParams({
            condition: recordClauses.exists(),
            update: update({
              set: [
                expression(
                  '#lastFailure = :lastFailure',
                  { '#lastFailure': 'lastFailure' },
                  { ':lastFailure': stored },
                ),
              ],
            }),
          }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (isConditionFailed(error)) throw noRecordError(this.#table, cluster, 'record the failure', error);
      rethrowDynamo(
        error,
        callContext(
          this.#table,
          `recording a failure of cluster "${cluster}"`,
          'dynamodb:UpdateItem',
          signal,
        ),
      );
    }
  }

  async updateJoinMaterial(
    cluster: string,
    stamp: JoinMaterialStamp,
    signal?: AbortSignal,
    lease?: LeaseRef,
  ): Promise<void> {
    return updateJoinMaterial(this.#table, cluster, stamp, signal, lease);
  }

  async recordMember(cluster: string, member: MemberRecord, signal?: AbortSignal): Promise<void> {
    try {
      await this.#table.dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(
            { [PK]: clusterPk(cluster), [SK]: memberSk(member.instanceId), ...member },
            { removeUndefinedValues: true },
          ),
          ...expressionParams({
            condition: anyOf(memberClauses.absent(), memberClauses.joinedNoLaterThan(member.joinedAt)),
          }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (isConditionFailed(error)) return; // a newer join of the same instance is already recorded
      rethrowDynamo(
        error,
        callContext(
          this.#table,
          `recording member ${member.instanceId} of cluster "${cluster}"`,
          'dynamodb:PutItem',
          signal,
        ),
      );
    }
  }

  async removeMember(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#table.dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall({ [PK]: clusterPk(cluster), [SK]: memberSk(instanceId) }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowDynamo(
        error,
        callContext(
          this.#table,
          `removing member ${instanceId} of cluster "${cluster}"`,
          'dynamodb:DeleteItem',
          signal,
        ),
      );
    }
  }

  async readClusterState(cluster: string, signal?: AbortSignal): Promise<ClusterState | undefined> {
    return readClusterState(this.#table, cluster, signal);
  }

  async listClusterStates(signal?: AbortSignal): Promise<ClusterState[]> {
    return listClusterStates(this.#table, signal);
  }
}
