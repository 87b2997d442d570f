/**
 * The records of what `kboot cluster create` made, in the cluster's partition of the kboot table:
 *   pk = cluster#<name>, sk = resource#<key>    one ResourceRecord per resource
 * Written with a conditional put the moment a resource exists (two creates of one cluster cannot
 * both record a key), deleted when destroy deleted the resource; at the end of a destroy both of
 * the cluster's partitions go: `cluster#<name>` (record, locks, members, what is left of the
 * resource records) and `leave#<name>` (its workers' leave requests). Every item kboot writes is
 * in one of those two (dynamodb-items.ts).
 */

import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { StateConflictError } from '../../../core/errors.js';
import type { ResourceState } from '../../../domain/cluster/engine-types.js';
import type { ResourceRecord } from '../../../domain/cluster/resource.js';
import {
  type CallContext,
  clusterPk,
  type ItemKey,
  isConditionFailed,
  itemData,
  leavePk,
  PK,
  pages,
  rethrowDynamo,
  SK,
} from '../dynamodb-items.js';
import { awsErrorName } from '../errors.js';

const RESOURCE_SK_PREFIX = 'resource#';

function resourceSk(key: string): string {
  return `${RESOURCE_SK_PREFIX}${key}`;
}

function parseResourceRecord(data: Record<string, unknown>, where: string): ResourceRecord {
  const text = (name: string) => {
    const value = data[name];
    if (typeof value !== 'string' || value === '') {
      throw new StateConflictError(`${where} is malformed: field ${name} is missing`, {
        hint: `delete the item, then run 'kboot cluster create' again (it finds the resource by its tags)`,
      });
    }
    return value;
  };
  const outputs = data.outputs;
  return {
    key: text('key'),
    kind: text('kind'),
    id: text('id'),
    ...(typeof data.arn === 'string' ? { arn: data.arn } : {}),
    dependsOn: Array.isArray(data.dependsOn) ? data.dependsOn.map(String) : [],
    outputs:
      outputs !== null && typeof outputs === 'object'
        ? Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, String(v)]))
        : {},
    createdAt: text('createdAt'),
    ...(data.adopted === true ? { adopted: true } : {}),
  };
}

export class DynamoDbResourceState implements ResourceState {
  readonly tableName: string;
  readonly #dynamodb: DynamoDBClient;

  constructor(settings: { dynamodb: DynamoDBClient; tableName: string }) {
    this.tableName = settings.tableName;
    this.#dynamodb = settings.dynamodb;
  }

  #call(doing: string, permission: string, signal: AbortSignal | undefined): CallContext {
    return { table: this.tableName, doing, permission, signal };
  }

  /** The items of a partition (`pk`, default the cluster's own), those whose sk starts with `prefix`. */
  async #partition(
    cluster: string,
    prefix: string | undefined,
    signal: AbortSignal | undefined,
    pk: string = clusterPk(cluster),
  ): Promise<Record<string, AttributeValue>[] | undefined> {
    const items: Record<string, AttributeValue>[] = [];
    try {
      const query = (startKey: ItemKey | undefined) =>
        this.#dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression:
              prefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': PK, ...(prefix === undefined ? {} : { '#sk': SK }) },
            ExpressionAttributeValues: {
              ':pk': { S: pk },
              ...(prefix === undefined ? {} : { ':prefix': { S: prefix } }),
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: signal },
        );
      for await (const page of pages(query)) items.push(...page);
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      rethrowDynamo(error, this.#call(`reading the state of cluster "${cluster}"`, 'dynamodb:Query', signal));
    }
    return items;
  }

  async readResources(cluster: string, signal?: AbortSignal): Promise<ResourceRecord[] | undefined> {
    const items = await this.#partition(cluster, RESOURCE_SK_PREFIX, signal);
    return items?.map((item) =>
      parseResourceRecord(
        itemData(item),
        `resource record ${item[SK]?.S} of cluster "${cluster}" in table ${this.tableName}`,
      ),
    );
  }

  /** Records a resource kboot just made; refuses when another create recorded it meanwhile. */
  async recordResource(cluster: string, record: ResourceRecord, signal?: AbortSignal): Promise<void> {
    await this.#put(cluster, record, signal, {
      condition: 'attribute_not_exists(#pk)',
      conflict: 'was recorded by someone else meanwhile',
      hint: "another 'kboot cluster create' of this cluster is running: let it finish, then run 'kboot cluster plan'",
      doing: `recording ${record.key} of cluster "${cluster}"`,
    });
  }

  /** Rewrites the record of a resource changed in place; refuses when a destroy forgot it meanwhile. */
  async replaceResource(cluster: string, record: ResourceRecord, signal?: AbortSignal): Promise<void> {
    await this.#put(cluster, record, signal, {
      condition: 'attribute_exists(#pk)',
      conflict: 'was forgotten by someone else meanwhile',
      hint: "another 'kboot cluster destroy' of this cluster may be running: let it finish, then run 'kboot cluster plan'",
      doing: `recording the update of ${record.key} of cluster "${cluster}"`,
    });
  }

  /** One conditional PutItem of a resource record; a failed condition is a StateConflictError. */
  async #put(
    cluster: string,
    record: ResourceRecord,
    signal: AbortSignal | undefined,
    put: { condition: string; conflict: string; hint: string; doing: string },
  ): Promise<void> {
    try {
      await this.#dynamodb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(
            { [PK]: clusterPk(cluster), [SK]: resourceSk(record.key), ...record },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: put.condition,
          ExpressionAttributeNames: { '#pk': PK },
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (isConditionFailed(error)) {
        throw new StateConflictError(`${record.key} of cluster "${cluster}" ${put.conflict}`, {
          cause: error,
          hint: put.hint,
          details: { key: record.key },
        });
      }
      rethrowDynamo(error, this.#call(put.doing, 'dynamodb:PutItem', signal));
    }
  }

  async #delete(
    cluster: string,
    sk: string,
    signal: AbortSignal | undefined,
    pk: string = clusterPk(cluster),
  ): Promise<void> {
    try {
      await this.#dynamodb.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: { [PK]: { S: pk }, [SK]: { S: sk } } }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowDynamo(
        error,
        this.#call(`deleting item ${sk} of cluster "${cluster}"`, 'dynamodb:DeleteItem', signal),
      );
    }
  }

  async forgetResource(cluster: string, key: string, signal?: AbortSignal): Promise<void> {
    await this.#delete(cluster, resourceSk(key), signal);
  }

  /** Deletes the cluster's two partitions (its items, then its leave requests); how many items went. */
  async clearCluster(cluster: string, signal?: AbortSignal): Promise<number> {
    let count = 0;
    for (const pk of [clusterPk(cluster), leavePk(cluster)]) {
      const items = (await this.#partition(cluster, undefined, signal, pk)) ?? [];
      for (const item of items) await this.#delete(cluster, item[SK]?.S ?? '', signal, pk);
      count += items.length;
    }
    return count;
  }

  async holdsOtherItems(cluster: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const scan = (startKey: ItemKey | undefined) =>
        this.#dynamodb.send(
          new ScanCommand({
            TableName: this.tableName,
            ProjectionExpression: '#pk',
            FilterExpression: '#pk <> :pk AND #pk <> :leave',
            ExpressionAttributeNames: { '#pk': PK },
            ExpressionAttributeValues: {
              ':pk': { S: clusterPk(cluster) },
              ':leave': { S: leavePk(cluster) },
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: signal },
        );
      for await (const page of pages(scan)) if (page.length > 0) return true;
    } catch (error) {
      rethrowDynamo(error, this.#call('looking for other clusters in the table', 'dynamodb:Scan', signal));
    }
    return false;
  }
}
