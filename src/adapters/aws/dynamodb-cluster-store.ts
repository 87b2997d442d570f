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
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type Clock, systemClock } from '../../core/clock.js';
import { InternalError, StateConflictError } from '../../core/errors.js';
import { redactText } from '../../core/secrets.js';
import {
  type ClusterRecord,
  type Initialized,
  type JoinMaterialStamp,
  parseClusterRecord,
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
import {
  describeHolder,
  type LeaseRef,
  LOCK_NAMES,
  type LockName,
  leaseLabel,
  parseLockRecord,
} from '../../domain/state/lease.js';
import { type MemberRecord, parseMemberRecord } from '../../domain/state/member.js';
import { allOf, anyOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import {
  type CallContext,
  clusterFromPk,
  clusterPk,
  conditionFailedItem,
  type ItemKey,
  isConditionFailed,
  itemData,
  itemKey,
  lockSk,
  META_SK,
  memberSk,
  PK,
  pages,
  parseSk,
  rethrowDynamo,
  SK,
} from './dynamodb-items.js';
import { DynamoDbLeaseLock, decodeLock, stillHeld } from './dynamodb-lease-lock.js';
import { awsErrorName } from './errors.js';

const recordClauses = {
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

const memberClauses = {
  absent: () => expression('attribute_not_exists(#pk)', { '#pk': PK }),
  joinedNoLaterThan: (joinedAt: string) =>
    expression('#joinedAt <= :joinedAt', { '#joinedAt': 'joinedAt' }, { ':joinedAt': joinedAt }),
};

/** Longest failure message kept in the record. */
const FAILURE_MESSAGE_MAX_CHARS = 2000;
/** Attempts of the init transaction when DynamoDB reports a conflicting concurrent transaction. */
const TRANSACTION_ATTEMPTS = 3;

export interface DynamoDbClusterStoreSettings {
  dynamodb: DynamoDBClient;
  tableName: string;
  clock?: Clock;
}

interface CancellationReason {
  Code?: string;
  Item?: Record<string, AttributeValue>;
}

export class DynamoDbClusterStore
  implements ClusterRecordReader, ClusterRecordWriter, MemberRegistry, MemberRemover, ClusterStateLister
{
  readonly tableName: string;
  readonly #dynamodb: DynamoDBClient;
  readonly #clock: Clock;

  constructor(settings: DynamoDbClusterStoreSettings) {
    this.tableName = settings.tableName;
    this.#dynamodb = settings.dynamodb;
    this.#clock = settings.clock ?? systemClock;
  }

  /** A lease lock of one cluster, in this table. */
  leaseLock(cluster: string, name: LockName): DynamoDbLeaseLock {
    return new DynamoDbLeaseLock({ dynamodb: this.#dynamodb, tableName: this.tableName, cluster, name });
  }

  #call(doing: string, permission: string, signal: AbortSignal | undefined): CallContext {
    return { table: this.tableName, doing, permission, signal };
  }

  #parseRecord(cluster: string, item: Record<string, AttributeValue>): ClusterRecord {
    return parseClusterRecord(itemData(item), { cluster, table: this.tableName });
  }

  async readRecord(cluster: string, signal?: AbortSignal): Promise<ClusterRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.#dynamodb.send(
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
        this.#call(`reading the cluster record of "${cluster}"`, 'dynamodb:GetItem', signal),
      );
    }
    return item === undefined ? undefined : this.#parseRecord(cluster, item);
  }

  async putRecordIfAbsent(record: ClusterRecord, signal?: AbortSignal): Promise<PutRecordOutcome> {
    const cluster = record.clusterName;
    try {
      await this.#dynamodb.send(
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
        const existing = this.#parseRecord(cluster, old);
        return { created: false, record: existing, differences: recordDifferences(existing, record) };
      }
      rethrowDynamo(
        error,
        this.#call(`writing the cluster record of "${cluster}"`, 'dynamodb:PutItem', signal),
      );
    }
  }

  async markInitialized(
    lease: LeaseRef,
    nowMs: number,
    signal?: AbortSignal,
    joinMaterial?: JoinMaterialStamp,
  ): Promise<Initialized> {
    if (lease.lock !== 'bootstrap') {
      throw new InternalError(
        `only the bootstrap lease may mark a cluster initialized, not the ${lease.lock} lease`,
      );
    }
    const initialized: Initialized = {
      by: lease.owner,
      at: new Date(nowMs).toISOString(),
      fence: lease.fence,
    };
    // Owner and fence, not time: a takeover raises the fence, so a holder that lost the lease
    // (however its clock runs) fails here.
    const setFlag = expressionParams({
      condition: allOf(recordClauses.exists(), recordClauses.notInitialized()),
      update: update({
        set: [
          expression(
            '#initialized = :initialized',
            { '#initialized': 'initialized' },
            { ':initialized': initialized },
          ),
          ...(joinMaterial === undefined
            ? []
            : [
                expression(
                  '#joinMaterial = :joinMaterial',
                  { '#joinMaterial': 'joinMaterial' },
                  { ':joinMaterial': joinMaterial },
                ),
              ]),
        ],
      }),
    });
    const command = this.#fencedRecordUpdate(lease, lease.cluster, setFlag);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#dynamodb.send(command, { abortSignal: signal });
        return initialized;
      } catch (error) {
        if (awsErrorName(error) !== 'TransactionCanceledException') {
          rethrowDynamo(
            error,
            this.#call(
              `marking cluster "${lease.cluster}" initialized`,
              'dynamodb:TransactWriteItems',
              signal,
            ),
          );
        }
        const reasons = (
          (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []
        ).map((reason) => reason ?? {});
        const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
        const failedChecks = reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
        if (conflict && !failedChecks && attempt < TRANSACTION_ATTEMPTS) {
          await this.#clock.sleepMs(100 * attempt, signal);
          continue;
        }
        throw this.#initConflict(lease, nowMs, reasons, error);
      }
    }
  }

  /**
   * One transaction: the lease still held (owner and fence) and an update of the cluster record.
   * A holder that lost the lease gets TransactionCanceledException with the lock item as it is.
   */
  #fencedRecordUpdate(
    lease: LeaseRef,
    cluster: string,
    recordUpdate: ReturnType<typeof expressionParams>,
  ): TransactWriteItemsCommand {
    const lockCheck = expressionParams({ condition: stillHeld(lease) });
    return new TransactWriteItemsCommand({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: itemKey(lease.cluster, lockSk(lease.lock)),
            ConditionExpression: lockCheck.ConditionExpression,
            ExpressionAttributeNames: lockCheck.ExpressionAttributeNames,
            ExpressionAttributeValues: lockCheck.ExpressionAttributeValues,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.tableName,
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

  #initConflict(
    lease: LeaseRef,
    nowMs: number,
    reasons: CancellationReason[],
    error: unknown,
  ): StateConflictError {
    const [lockReason, recordReason] = reasons;
    const cluster = lease.cluster;
    const problems: string[] = [];
    if (lockReason?.Code === 'ConditionalCheckFailed') {
      const current = decodeLock(lockReason.Item, `the ${leaseLabel(cluster, lease.lock)}`);
      problems.push(
        `this instance (${lease.owner}, fence ${lease.fence}) no longer holds the ${leaseLabel(cluster, lease.lock)}: ${describeHolder(current, nowMs)}`,
      );
    }
    if (recordReason?.Code === 'ConditionalCheckFailed') {
      if (recordReason.Item === undefined) {
        problems.push(`there is no cluster record for "${cluster}" in table ${this.tableName}`);
      } else {
        const existing = this.#parseRecord(cluster, recordReason.Item);
        const by = existing.initialized;
        problems.push(
          by === undefined
            ? 'the cluster record changed during the write'
            : `it was already initialized by ${by.by} at ${by.at} (fence ${by.fence})`,
        );
      }
    }
    if (problems.length === 0) {
      const codes = reasons.map((reason) => reason.Code ?? 'None').join(', ');
      problems.push(`DynamoDB cancelled the transaction (${codes})`);
    }
    return new StateConflictError(`cannot mark cluster "${cluster}" initialized: ${problems.join('; ')}`, {
      cause: error,
      hint: `do not run kubeadm init again; check \`kboot status --cluster ${cluster}\``,
      details: { cluster, owner: lease.owner, fence: lease.fence, reasons: reasons.map((r) => r.Code) },
    });
  }

  async recordFailure(cluster: string, failure: RecordedFailure, signal?: AbortSignal): Promise<void> {
    const stored: RecordedFailure = {
      ...failure,
      message: redactText(failure.message).slice(0, FAILURE_MESSAGE_MAX_CHARS),
    };
    try {
      await this.#dynamodb.send(
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
      if (isConditionFailed(error)) throw this.#noRecord(cluster, 'record the failure', error);
      rethrowDynamo(
        error,
        this.#call(`recording a failure of cluster "${cluster}"`, 'dynamodb:UpdateItem', signal),
      );
    }
  }

  async updateJoinMaterial(
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
      await this.#updateJoinMaterialFenced(cluster, stamp, recordUpdate, lease, signal);
      return;
    }
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: itemKey(cluster, META_SK),
          ...recordUpdate,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (isConditionFailed(error))
        throw this.#stampConflict(cluster, stamp, conditionFailedItem(error), error);
      rethrowDynamo(
        error,
        this.#call(`recording join material of cluster "${cluster}"`, 'dynamodb:UpdateItem', signal),
      );
    }
  }

  /** The stamp and its secret versions, only while `lease` is still held: one transaction. */
  async #updateJoinMaterialFenced(
    cluster: string,
    stamp: JoinMaterialStamp,
    recordUpdate: ReturnType<typeof expressionParams>,
    lease: LeaseRef,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await this.#dynamodb.send(this.#fencedRecordUpdate(lease, cluster, recordUpdate), {
        abortSignal: signal,
      });
    } catch (error) {
      if (awsErrorName(error) !== 'TransactionCanceledException') {
        rethrowDynamo(
          error,
          this.#call(
            `recording join material of cluster "${cluster}"`,
            'dynamodb:TransactWriteItems',
            signal,
          ),
        );
      }
      const [lockReason, recordReason] = (
        (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? []
      ).map((reason) => reason ?? {});
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        const current = decodeLock(lockReason.Item, `the ${leaseLabel(cluster, lease.lock)}`);
        throw new StateConflictError(
          `not recording join material of cluster "${cluster}": this instance (${lease.owner}, fence ${lease.fence}) no longer holds the ${leaseLabel(cluster, lease.lock)}: ${describeHolder(current, this.#clock.nowMs())}`,
          {
            cause: error,
            hint: `the material it published is never read; check \`kboot status --cluster ${cluster}\``,
            details: { cluster, owner: lease.owner, fence: lease.fence },
          },
        );
      }
      if (recordReason?.Code === 'ConditionalCheckFailed') {
        throw this.#stampConflict(cluster, stamp, recordReason.Item, error);
      }
      throw new StateConflictError(
        `DynamoDB cancelled recording join material of cluster "${cluster}" (${[lockReason, recordReason].map((r) => r?.Code ?? 'None').join(', ')})`,
        { cause: error, hint: 'run kboot rotate again' },
      );
    }
  }

  #stampConflict(
    cluster: string,
    stamp: JoinMaterialStamp,
    old: Record<string, AttributeValue> | undefined,
    error: unknown,
  ): StateConflictError {
    if (old === undefined) return this.#noRecord(cluster, 'record the join material', error);
    const newer = this.#parseRecord(cluster, old).joinMaterial?.updatedAt ?? 'unknown';
    return new StateConflictError(
      `not recording join material of cluster "${cluster}" updated at ${stamp.updatedAt}: the record already has newer join material (updated at ${newer})`,
      { cause: error, hint: 'another instance rotated the join material more recently; nothing to do' },
    );
  }

  #noRecord(cluster: string, doing: string, cause: unknown): StateConflictError {
    return new StateConflictError(
      `cannot ${doing}: there is no cluster record for "${cluster}" in table ${this.tableName}`,
      {
        cause,
        hint: "create the cluster with 'kboot cluster create', or let the first master write the record",
      },
    );
  }

  async recordMember(cluster: string, member: MemberRecord, signal?: AbortSignal): Promise<void> {
    try {
      await this.#dynamodb.send(
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
        this.#call(
          `recording member ${member.instanceId} of cluster "${cluster}"`,
          'dynamodb:PutItem',
          signal,
        ),
      );
    }
  }

  async removeMember(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#dynamodb.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall({ [PK]: clusterPk(cluster), [SK]: memberSk(instanceId) }),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowDynamo(
        error,
        this.#call(`removing member ${instanceId} of cluster "${cluster}"`, 'dynamodb:DeleteItem', signal),
      );
    }
  }

  async readClusterState(cluster: string, signal?: AbortSignal): Promise<ClusterState | undefined> {
    const items: Record<string, AttributeValue>[] = [];
    try {
      const query = (startKey: ItemKey | undefined) =>
        this.#dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: { ':pk': { S: clusterPk(cluster) } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: signal },
        );
      for await (const page of pages(query)) items.push(...page);
    } catch (error) {
      rethrowDynamo(error, this.#call(`reading the state of cluster "${cluster}"`, 'dynamodb:Query', signal));
    }
    return items.length === 0 ? undefined : this.#stateFromItems(cluster, items);
  }

  async listClusterStates(signal?: AbortSignal): Promise<ClusterState[]> {
    const byCluster = new Map<string, Record<string, AttributeValue>[]>();
    try {
      const scan = (startKey: ItemKey | undefined) =>
        this.#dynamodb.send(
          new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
          { abortSignal: signal },
        );
      for await (const page of pages(scan)) {
        for (const item of page) {
          const cluster = clusterFromPk(item[PK]?.S ?? '');
          if (cluster === undefined) continue;
          byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), item]);
        }
      }
    } catch (error) {
      rethrowDynamo(error, this.#call('listing clusters', 'dynamodb:Scan', signal));
    }
    return [...byCluster.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, items]) => this.#stateFromItems(cluster, items));
  }

  #stateFromItems(cluster: string, items: Record<string, AttributeValue>[]): ClusterState {
    const state: ClusterState = {
      cluster,
      record: undefined,
      recordError: undefined,
      locks: {},
      members: [],
    };
    for (const item of items) {
      const sk = parseSk(item[SK]?.S ?? '');
      if (sk.kind === 'meta') {
        try {
          state.record = this.#parseRecord(cluster, item);
        } catch (error) {
          state.recordError = error as Error;
        }
      } else if (sk.kind === 'lock') {
        const name = LOCK_NAMES.find((lock) => lock === sk.name);
        if (name !== undefined) {
          // One malformed lock item makes its cluster unreadable there, not the whole listing.
          try {
            state.locks[name] = parseLockRecord(itemData(item), `the ${leaseLabel(cluster, name)}`);
          } catch (error) {
            state.lockErrors = { ...state.lockErrors, [name]: error as Error };
          }
        }
      } else if (sk.kind === 'member') {
        const member = parseMemberRecord(itemData(item));
        if (member !== undefined) state.members.push(member);
      }
    }
    state.members.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
    return state;
  }
}
