/**
 * `kboot cluster destroy`: the recorded resources only, dependents first; never those recorded as
 * adopted; the state table last, only when kboot made it and no other cluster's items remain in
 * it. What could not be deleted is reported and keeps its record, so destroy can be run again.
 */

import { isKbootError } from '../../core/errors.js';
import { type EngineKit, message } from './engine-kit.js';
import type { DestroyEntry, DestroyResult } from './engine-types.js';
import { KEYS } from './graph.js';
import { runInOrder, topologicalOrder } from './order.js';
import type { ResourceContext, ResourceRecord } from './resource.js';

/** Deletes what kboot recorded for the cluster, dependents first. */
export async function destroyCluster(kit: EngineKit, options: { dryRun: boolean }): Promise<DestroyResult> {
  const { cluster, state, progress, signal } = kit.settings;
  const records = await kit.readRecords();
  const result: DestroyResult = { cluster, table: state.tableName, dryRun: options.dryRun, entries: [] };
  if (records.size === 0) return result;
  const table = records.get(KEYS.table);
  const others = [...records.values()].filter((r) => r.key !== KEYS.table);
  const context = kit.context(records);
  // Reverse order: a record waits for every record that depends on it.
  const items = others.map((r) => ({
    key: r.key,
    after: others.filter((o) => o.dependsOn.includes(r.key)).map((o) => o.key),
  }));
  const order = topologicalOrder(items);
  const entries = new Map<string, DestroyEntry>();
  const entryOf = (r: ResourceRecord, outcome: DestroyEntry['outcome'], reason?: string): DestroyEntry => ({
    key: r.key,
    kind: r.kind,
    id: r.id,
    outcome,
    ...(reason === undefined ? {} : { reason }),
  });
  const adoptedReason = 'not made by kboot (adopted): left in place';

  if (options.dryRun) {
    for (const key of order) {
      const r = records.get(key) as ResourceRecord;
      entries.set(
        key,
        entryOf(
          r,
          r.adopted === true ? 'would-keep' : 'would-delete',
          r.adopted === true ? adoptedReason : undefined,
        ),
      );
    }
    result.entries = order.map((key) => entries.get(key) as DestroyEntry);
    if (table !== undefined) {
      result.entries.push(
        entryOf(
          table,
          table.adopted === true ? 'would-keep' : 'would-delete',
          table.adopted === true ? adoptedReason : 'only if no other cluster has items in it',
        ),
      );
    }
    return result;
  }

  progress.start([...order, ...(table === undefined ? [] : [table.key])], `destroying cluster "${cluster}"`);
  const outcome = await runInOrder(
    items,
    kit.settings.concurrency ?? 4,
    async (key) => {
      const r = records.get(key) as ResourceRecord;
      try {
        if (r.adopted === true) {
          const provider = kit.provider(r.kind);
          const released = provider.release === undefined ? undefined : await provider.release(r, context);
          const reason = released === undefined ? adoptedReason : `${adoptedReason}; ${released}`;
          entries.set(key, entryOf(r, 'kept', reason));
          progress.update(key, 'kept', reason);
          return;
        }
        progress.update(key, 'deleting', r.id);
        const deleted = await kit.provider(r.kind).delete(r, context);
        await state.forgetResource(cluster, key, signal);
        entries.set(key, entryOf(r, deleted));
        progress.update(key, deleted === 'deleted' ? 'deleted' : 'gone', r.id);
      } catch (error) {
        entries.set(key, entryOf(r, 'failed', message(error)));
        progress.update(key, 'failed', message(error));
        throw error;
      }
    },
    signal,
  );
  for (const key of outcome.blocked) {
    const r = records.get(key) as ResourceRecord;
    const reason = 'a resource that depends on it could not be deleted';
    entries.set(key, entryOf(r, 'blocked', reason));
    progress.update(key, 'blocked', reason);
  }
  result.entries = order.map((key) => entries.get(key) as DestroyEntry);
  const incomplete = outcome.failed.size > 0 || outcome.blocked.length > 0;
  if (table !== undefined) {
    if (incomplete) {
      const reason = "kept: it holds the records of what is left (run 'kboot cluster destroy' again)";
      result.entries.push(entryOf(table, 'blocked', reason));
      progress.update(table.key, 'blocked', reason);
    } else {
      result.entries.push(await destroyTable(kit, table, context));
    }
  } else if (!incomplete) {
    await state.clearCluster(cluster, signal);
  }
  progress.finish();
  return result;
}

/** The cluster's items go; the table too when kboot made it and nothing else is in it. */
async function destroyTable(
  kit: EngineKit,
  table: ResourceRecord,
  context: ResourceContext,
): Promise<DestroyEntry> {
  const { cluster, state, progress, signal } = kit.settings;
  const entry = (outcome: DestroyEntry['outcome'], reason?: string): DestroyEntry => ({
    key: table.key,
    kind: table.kind,
    id: table.id,
    outcome,
    ...(reason === undefined ? {} : { reason }),
  });
  try {
    await state.clearCluster(cluster, signal);
    if (table.adopted === true) {
      const reason = 'not made by kboot (adopted): left in place, without this cluster’s items';
      progress.update(table.key, 'kept', reason);
      return entry('kept', reason);
    }
    let others: boolean;
    try {
      others = await state.holdsOtherItems(cluster, signal);
    } catch (error) {
      // A policy for one cluster may not scan the table (dynamodb:Scan is granted only for every cluster).
      if (!isKbootError(error) || error.code !== 'aws-denied') throw error;
      const reason = 'could not look for other clusters’ items (dynamodb:Scan denied): left in place';
      progress.update(table.key, 'kept', reason);
      return entry('kept', reason);
    }
    if (others) {
      const reason = 'other clusters’ items remain in it: left in place, without this cluster’s items';
      progress.update(table.key, 'kept', reason);
      return entry('kept', reason);
    }
    progress.update(table.key, 'deleting', table.id);
    const deleted = await kit.provider(table.kind).delete(table, context);
    progress.update(table.key, deleted === 'deleted' ? 'deleted' : 'gone', table.id);
    return entry(deleted);
  } catch (error) {
    progress.update(table.key, 'failed', message(error));
    return entry('failed', message(error));
  }
}

/** The resources destroy could not delete (failed or held back), for the exit status. */
export function undeleted(result: DestroyResult): DestroyEntry[] {
  return result.entries.filter((e) => e.outcome === 'failed' || e.outcome === 'blocked');
}
