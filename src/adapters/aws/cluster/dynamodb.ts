/**
 * The state resources: the kboot table (`dynamodb-table`) and the cluster's metadata record
 * (`cluster-record`, sk=meta). The table is created when missing, tagged as kboot's; a table that
 * was there before is recorded as adopted (destroy never deletes it). The record is written once
 * (conditional put) from the spec, the NLB's DNS name and the KMS key id.
 */

import {
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import { type Clock, systemClock } from '../../../core/clock.js';
import { StateConflictError } from '../../../core/errors.js';
import type { ClusterRecordProperties, DynamoDbTableProperties } from '../../../domain/cluster/graph.js';
import type {
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { newClusterRecord } from '../../../domain/state/cluster-record.js';
import { DynamoDbClusterStore } from '../dynamodb-cluster-store.js';
import { itemKey, META_SK, rethrowDynamo } from '../dynamodb-items.js';
import { ensureTable, MANAGED_TABLE_TAG, TABLE_SCHEMA } from '../dynamodb-table.js';
import { awsErrorName } from '../errors.js';
import { dependencyOutput, differs, fromAwsTags, ownOrAdopted, record, toAwsTags } from './provider-kit.js';

export interface StateProviderSettings {
  clients: { dynamodb(): Promise<DynamoDBClient> };
  clock?: Clock;
  /** How long to wait for a new or deleted table; default 2 minutes. */
  tableTimeoutMs?: number;
  pollIntervalMs?: number;
}

/** Who writes the cluster record (its `createdBy`). */
const RECORD_CREATED_BY = 'kboot cluster create';

export class DynamoDbTableProvider implements ResourceProvider<DynamoDbTableProperties> {
  readonly kind = 'dynamodb-table';
  readonly #settings: StateProviderSettings;
  readonly #clock: Clock;

  constructor(settings: StateProviderSettings) {
    this.#settings = settings;
    this.#clock = settings.clock ?? systemClock;
  }

  async #describe(name: string, signal: AbortSignal) {
    const dynamodb = await this.#settings.clients.dynamodb();
    try {
      const out = await dynamodb.send(new DescribeTableCommand({ TableName: name }), { abortSignal: signal });
      return out.Table;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      rethrowDynamo(error, {
        table: name,
        doing: 'describing the table',
        permission: 'dynamodb:DescribeTable',
        signal,
      });
    }
  }

  async find(
    desired: DesiredResource<DynamoDbTableProperties>,
    context: ResourceContext,
  ): Promise<ResourceRecord | undefined> {
    const { name } = desired.properties;
    const table = await this.#describe(name, context.signal);
    if (table?.TableArn === undefined) return undefined;
    const dynamodb = await this.#settings.clients.dynamodb();
    let tags: Record<string, string> = {};
    try {
      const out = await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: table.TableArn }), {
        abortSignal: context.signal,
      });
      tags = fromAwsTags(out.Tags);
    } catch (error) {
      rethrowDynamo(error, {
        table: name,
        doing: 'reading the table tags',
        permission: 'dynamodb:ListTagsOfResource',
        signal: context.signal,
      });
    }
    const found = record(desired, name, { name, arn: table.TableArn }, this.#clock, table.TableArn);
    // A table kboot made for this cluster is its own; any other (shared by clusters, made by
    // `kboot` before this command existed, or by another tool) is used and never deleted.
    return ownOrAdopted(tags, found, desired, context);
  }

  async create(
    desired: DesiredResource<DynamoDbTableProperties>,
    context: ResourceContext,
  ): Promise<ResourceRecord> {
    const { name } = desired.properties;
    const dynamodb = await this.#settings.clients.dynamodb();
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          ...TABLE_SCHEMA,
          Tags: toAwsTags({
            ...context.tagsFor(desired.key),
            [MANAGED_TABLE_TAG.Key]: MANAGED_TABLE_TAG.Value,
          }),
        }),
        { abortSignal: context.signal },
      );
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceInUseException') {
        rethrowDynamo(error, {
          table: name,
          doing: 'creating the table',
          permission: 'dynamodb:CreateTable',
          signal: context.signal,
        });
      }
    }
    // Wait for ACTIVE (ensureTable creates nothing: the table exists now).
    await ensureTable(dynamodb, name, {
      clock: this.#clock,
      signal: context.signal,
      ...(this.#settings.tableTimeoutMs === undefined ? {} : { timeoutMs: this.#settings.tableTimeoutMs }),
      ...(this.#settings.pollIntervalMs === undefined ? {} : { pollMs: this.#settings.pollIntervalMs }),
    });
    const table = await this.#describe(name, context.signal);
    const arn = table?.TableArn ?? name;
    return record(desired, name, { name, arn }, this.#clock, arn);
  }

  async delete(record: ResourceRecord, context: ResourceContext) {
    const dynamodb = await this.#settings.clients.dynamodb();
    try {
      await dynamodb.send(new DeleteTableCommand({ TableName: record.id }), { abortSignal: context.signal });
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return 'already-gone' as const;
      rethrowDynamo(error, {
        table: record.id,
        doing: 'deleting the table',
        permission: 'dynamodb:DeleteTable',
        signal: context.signal,
      });
    }
    return 'deleted' as const;
  }
}

export class ClusterRecordProvider implements ResourceProvider<ClusterRecordProperties> {
  readonly kind = 'cluster-record';
  readonly #settings: StateProviderSettings;
  readonly #clock: Clock;

  constructor(settings: StateProviderSettings) {
    this.#settings = settings;
    this.#clock = settings.clock ?? systemClock;
  }

  async #store(table: string): Promise<DynamoDbClusterStore> {
    return new DynamoDbClusterStore({ dynamodb: await this.#settings.clients.dynamodb(), tableName: table });
  }

  #id(p: ClusterRecordProperties): string {
    return `${p.table}/${p.clusterName}`;
  }

  async find(desired: DesiredResource<ClusterRecordProperties>, context: ResourceContext) {
    const p = desired.properties;
    const existing = await (await this.#store(p.table)).readRecord(p.clusterName, context.signal);
    if (existing === undefined) return undefined;
    const found = record(desired, this.#id(p), { apiEndpoint: existing.apiEndpoint }, this.#clock);
    // Written by a first master (the cluster's other resources made by another tool): not ours.
    return existing.createdBy === RECORD_CREATED_BY ? found : { ...found, adopted: true };
  }

  async create(desired: DesiredResource<ClusterRecordProperties>, context: ResourceContext) {
    const p = desired.properties;
    const apiEndpoint = `${dependencyOutput(context, p.apiEndpointFrom, ['dnsName'])}:${p.apiPort}`;
    const wanted = newClusterRecord(
      {
        clusterName: p.clusterName,
        region: p.region,
        apiEndpoint,
        podCidr: p.podCidr,
        serviceCidr: p.serviceCidr,
        kubernetesVersion: p.kubernetesVersion,
        kmsKeyId: dependencyOutput(context, p.kmsKeyFrom, ['keyId']),
        addons: p.addons,
        createdBy: RECORD_CREATED_BY,
        createdAt: new Date(this.#clock.nowMs()).toISOString(),
      },
      p.table,
    );
    const outcome = await (await this.#store(p.table)).putRecordIfAbsent(wanted, context.signal);
    if (!outcome.created && outcome.differences.length > 0) {
      throw new StateConflictError(
        `cluster "${p.clusterName}" already has a record in table ${p.table} that differs in ${outcome.differences.join(', ')}`,
        {
          hint: `a cluster of this name exists: choose another name, or destroy it first ('kboot cluster destroy --name ${p.clusterName}')`,
        },
      );
    }
    return record(desired, this.#id(p), { apiEndpoint: outcome.record.apiEndpoint }, this.#clock);
  }

  async drift(
    desired: DesiredResource<ClusterRecordProperties>,
    _record: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const p = desired.properties;
    const existing = await (await this.#store(p.table)).readRecord(p.clusterName, context.signal);
    if (existing === undefined) return [{ field: 'record', want: 'present', have: 'missing' }];
    return [
      ...differs('podCidr', p.podCidr, existing.podCidr),
      ...differs('addons', p.addons, existing.addons),
      ...differs('serviceCidr', p.serviceCidr, existing.serviceCidr),
      ...differs(
        'kubernetesVersion',
        p.kubernetesVersion.replace(/^v/, ''),
        existing.kubernetesVersion.replace(/^v/, ''),
      ),
    ];
  }

  async delete(record: ResourceRecord, context: ResourceContext) {
    const slash = record.id.indexOf('/');
    const table = record.id.slice(0, slash);
    const cluster = record.id.slice(slash + 1);
    const dynamodb = await this.#settings.clients.dynamodb();
    try {
      const out = await dynamodb.send(
        new DeleteItemCommand({ TableName: table, Key: itemKey(cluster, META_SK), ReturnValues: 'ALL_OLD' }),
        { abortSignal: context.signal },
      );
      return out.Attributes === undefined ? ('already-gone' as const) : ('deleted' as const);
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return 'already-gone' as const;
      rethrowDynamo(error, {
        table,
        doing: `deleting the record of cluster "${cluster}"`,
        permission: 'dynamodb:DeleteItem',
        signal: context.signal,
      });
    }
  }
}
