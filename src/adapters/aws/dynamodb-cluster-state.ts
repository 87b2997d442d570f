/** The reads `kboot status` needs: one cluster's items (record, locks, members), or every cluster's. */

import { type AttributeValue, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ClusterState } from '../../domain/state/cluster-store.js';
import { LOCK_NAMES, leaseLabel, parseLockRecord } from '../../domain/state/lease.js';
import { parseMemberRecord } from '../../domain/state/member.js';
import { type ClusterTable, callContext, parseRecordItem } from './dynamodb-cluster-table.js';
import {
  clusterFromPk,
  clusterPk,
  type ItemKey,
  itemData,
  PK,
  pages,
  parseSk,
  rethrowDynamo,
  SK,
} from './dynamodb-items.js';

export async function readClusterState(
  table: ClusterTable,
  cluster: string,
  signal?: AbortSignal,
): Promise<ClusterState | undefined> {
  const items: Record<string, AttributeValue>[] = [];
  try {
    const query = (startKey: ItemKey | undefined) =>
      table.dynamodb.send(
        new QueryCommand({
          TableName: table.tableName,
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
    rethrowDynamo(
      error,
      callContext(table, `reading the state of cluster "${cluster}"`, 'dynamodb:Query', signal),
    );
  }
  return items.length === 0 ? undefined : stateFromItems(table, cluster, items);
}

export async function listClusterStates(table: ClusterTable, signal?: AbortSignal): Promise<ClusterState[]> {
  const byCluster = new Map<string, Record<string, AttributeValue>[]>();
  try {
    const scan = (startKey: ItemKey | undefined) =>
      table.dynamodb.send(
        new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
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
    rethrowDynamo(error, callContext(table, 'listing clusters', 'dynamodb:Scan', signal));
  }
  return [...byCluster.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cluster, items]) => stateFromItems(table, cluster, items));
}

function stateFromItems(
  table: ClusterTable,
  cluster: string,
  items: Record<string, AttributeValue>[],
): ClusterState {
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
        state.record = parseRecordItem(table, cluster, item);
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
