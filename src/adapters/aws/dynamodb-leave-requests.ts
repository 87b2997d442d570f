/**
 * The LeaveRequestStore port over the kboot table: a cluster's leave requests live in a partition
 * of their own, `pk = leave#<cluster>`, `sk = instance#<instance id>` (dynamodb-items.ts), so a
 * worker's write grant (dynamodb:LeadingKeys = leave#<cluster>) reaches no cluster record, lock or
 * member record. The worker writes only the request's own attributes; the state, claim and outcome
 * are written by control-plane members. Every write is conditional.
 */

import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { StateConflictError } from '../../core/errors.js';
import {
  FINISHED_STATES,
  type LeaveRequest,
  type LeaveRequestState,
  type LeaveRequestStore,
  type NewLeaveRequest,
} from '../../domain/leave/request.js';
import { allOf, anyOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import {
  type CallContext,
  conditionFailedItem,
  isConditionFailed,
  itemData,
  LEAVE_REQUEST_SK_PREFIX,
  leavePk,
  leaveRequestKey,
  PK,
  pages,
  rethrowDynamo,
  SK,
} from './dynamodb-items.js';

const STATES: ReadonlySet<string> = new Set<LeaveRequestState>(['draining', 'done', 'refused', 'failed']);

function text(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' ? value : undefined;
}

export function parseLeaveRequest(item: Record<string, AttributeValue>, where: string): LeaveRequest {
  const data = itemData(item);
  const instanceId = text(data, 'instanceId');
  const nodeName = text(data, 'nodeName');
  const privateIp = text(data, 'privateIp');
  const requestedAt = text(data, 'requestedAt');
  const drain = data.drainTimeoutSeconds;
  const state = text(data, 'state');
  if (
    instanceId === undefined ||
    nodeName === undefined ||
    privateIp === undefined ||
    requestedAt === undefined ||
    typeof drain !== 'number' ||
    (state !== undefined && !STATES.has(state))
  ) {
    throw new StateConflictError(`${where} is not a leave request kboot can read`, {
      hint: 'delete the item; the worker writes it again when it leaves',
    });
  }
  const optional = (key: string) => {
    const value = text(data, key);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    instanceId,
    nodeName,
    privateIp,
    requestedAt,
    drainTimeoutSeconds: drain,
    state: state as LeaveRequestState | undefined,
    ...optional('groupName'),
    ...optional('hookName'),
    ...optional('claimedBy'),
    ...optional('claimedAt'),
    ...optional('finishedAt'),
    ...optional('detail'),
  };
}

export class DynamoDbLeaveRequests implements LeaveRequestStore {
  readonly #dynamodb: DynamoDBClient;
  readonly tableName: string;

  constructor(options: { dynamodb: DynamoDBClient; tableName: string }) {
    this.#dynamodb = options.dynamodb;
    this.tableName = options.tableName;
  }

  #call(doing: string, permission: string, signal: AbortSignal | undefined): CallContext {
    return { table: this.tableName, doing, permission, signal };
  }

  async put(
    cluster: string,
    request: NewLeaveRequest,
    signal?: AbortSignal,
  ): Promise<'written' | LeaveRequest> {
    const key = leaveRequestKey(cluster, request.instanceId);
    // A new request, or one replacing a finished request (a re-run after a refusal or a failure).
    const finished = [...FINISHED_STATES].map((state, index) =>
      expression(`#state = :finished${index}`, { '#state': 'state' }, { [`:finished${index}`]: state }),
    );
    const condition = anyOf(expression('attribute_not_exists(#pk)', { '#pk': PK }), ...finished);
    try {
      await this.#dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key, ...marshall(request, { removeUndefinedValues: true }) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...expressionParams({ condition }),
        }),
        { abortSignal: signal },
      );
      return 'written';
    } catch (error) {
      const item = isConditionFailed(error) ? conditionFailedItem(error) : undefined;
      if (item !== undefined) return parseLeaveRequest(item, this.#where(cluster, request.instanceId));
      rethrowDynamo(
        error,
        this.#call(
          `writing the leave request of ${request.instanceId} (cluster "${cluster}")`,
          'dynamodb:PutItem',
          signal,
        ),
      );
    }
  }

  #where(cluster: string, instanceId: string): string {
    return `leave request ${instanceId} of cluster "${cluster}" in table ${this.tableName}`;
  }

  async read(cluster: string, instanceId: string, signal?: AbortSignal): Promise<LeaveRequest | undefined> {
    try {
      const out = await this.#dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: leaveRequestKey(cluster, instanceId),
          ConsistentRead: true,
        }),
        { abortSignal: signal },
      );
      return out.Item === undefined
        ? undefined
        : parseLeaveRequest(out.Item, this.#where(cluster, instanceId));
    } catch (error) {
      if (error instanceof StateConflictError) throw error;
      rethrowDynamo(
        error,
        this.#call(
          `reading the leave request of ${instanceId} (cluster "${cluster}")`,
          'dynamodb:GetItem',
          signal,
        ),
      );
    }
  }

  async list(cluster: string, signal?: AbortSignal): Promise<LeaveRequest[]> {
    const items: Record<string, AttributeValue>[] = [];
    try {
      const query = (startKey: Record<string, AttributeValue> | undefined) =>
        this.#dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            ExpressionAttributeValues: {
              ':pk': { S: leavePk(cluster) },
              ':prefix': { S: LEAVE_REQUEST_SK_PREFIX },
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: signal },
        );
      for await (const page of pages(query)) items.push(...page);
    } catch (error) {
      rethrowDynamo(
        error,
        this.#call(`listing the leave requests of cluster "${cluster}"`, 'dynamodb:Query', signal),
      );
    }
    return items.map((item) =>
      parseLeaveRequest(
        item,
        this.#where(cluster, String(item[SK]?.S ?? '').slice(LEAVE_REQUEST_SK_PREFIX.length)),
      ),
    );
  }

  async claim(
    cluster: string,
    instanceId: string,
    claim: { by: string; at: string; staleBefore: string },
    signal?: AbortSignal,
  ): Promise<boolean> {
    const condition = allOf(
      expression('attribute_exists(#pk)', { '#pk': PK }),
      anyOf(
        expression('attribute_not_exists(#state)', { '#state': 'state' }),
        allOf(
          expression('#state = :draining', { '#state': 'state' }, { ':draining': 'draining' }),
          expression(
            '#claimedAt < :staleBefore',
            { '#claimedAt': 'claimedAt' },
            { ':staleBefore': claim.staleBefore },
          ),
        ),
      ),
    );
    const set = update({
      set: [
        expression('#state = :draining', { '#state': 'state' }, { ':draining': 'draining' }),
        expression('#claimedBy = :by', { '#claimedBy': 'claimedBy' }, { ':by': claim.by }),
        expression('#claimedAt = :at', { '#claimedAt': 'claimedAt' }, { ':at': claim.at }),
      ],
    });
    return this.#updateIf(
      cluster,
      instanceId,
      expressionParams({ condition, update: set }),
      `claiming the leave request of ${instanceId} (cluster "${cluster}")`,
      signal,
    );
  }

  async finish(
    cluster: string,
    instanceId: string,
    outcome: { by: string; state: 'done' | 'refused' | 'failed'; at: string; detail: string },
    signal?: AbortSignal,
  ): Promise<void> {
    const condition = allOf(
      expression('#state = :draining', { '#state': 'state' }, { ':draining': 'draining' }),
      expression('#claimedBy = :by', { '#claimedBy': 'claimedBy' }, { ':by': outcome.by }),
    );
    const set = update({
      set: [
        expression('#state = :outcome', { '#state': 'state' }, { ':outcome': outcome.state }),
        expression('#finishedAt = :at', { '#finishedAt': 'finishedAt' }, { ':at': outcome.at }),
        expression('#detail = :detail', { '#detail': 'detail' }, { ':detail': outcome.detail }),
      ],
    });
    const updated = await this.#updateIf(
      cluster,
      instanceId,
      expressionParams({ condition, update: set }),
      `finishing the leave request of ${instanceId} (cluster "${cluster}")`,
      signal,
    );
    if (!updated) {
      throw new StateConflictError(
        `the leave request of ${instanceId} (cluster "${cluster}") is no longer claimed by ${outcome.by}`,
        { hint: 'another control-plane member took it over after this one took too long' },
      );
    }
  }

  /** A conditional UpdateItem of one request: false when its condition failed. */
  async #updateIf(
    cluster: string,
    instanceId: string,
    params: ReturnType<typeof expressionParams>,
    doing: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: leaveRequestKey(cluster, instanceId),
          ...params,
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      rethrowDynamo(error, this.#call(doing, 'dynamodb:UpdateItem', signal));
    }
  }

  async remove(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#dynamodb.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: leaveRequestKey(cluster, instanceId) }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowDynamo(
        error,
        this.#call(
          `removing the leave request of ${instanceId} (cluster "${cluster}")`,
          'dynamodb:DeleteItem',
          signal,
        ),
      );
    }
  }
}
