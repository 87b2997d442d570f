/**
 * `kboot cluster create`: dependency order, independent resources concurrently (a small limit);
 * each resource recorded the moment its AWS call returns. Resume is the same walk: a recorded
 * resource is brought to the spec; an unrecorded one is first looked for (`find`) so nothing is
 * made twice.
 */

import { isKbootError, StateConflictError } from '../../core/errors.js';
import { type EngineKit, message } from './engine-kit.js';
import type { CreateEntry, CreateResult } from './engine-types.js';
import { runInOrder, topologicalOrder } from './order.js';
import type { DesiredResource, ResourceContext, ResourceProvider, ResourceRecord } from './resource.js';

/** What to do about drift of a kind that cannot change in place. */
function notInPlace(kind: string): string {
  switch (kind) {
    case 'nlb':
    case 'nlb-target-group':
    case 'nlb-listener':
      return 'the API endpoint would change; change the resource back by hand, or destroy and create the cluster again';
    case 'cluster-record':
      return "the cluster's CIDRs, endpoint, key and addons are fixed at creation; change the spec back, or destroy and create the cluster again";
    default:
      return 'change it back by hand (or the spec back), or destroy and create the cluster again';
  }
}

/**
 * A recorded resource on create: unchanged; drifted and updated in place (the new record
 * replaces the old, so dependents read its new outputs, e.g. a group a template's new version);
 * or drifted in a way its kind cannot change in place, reported with what to do. Adopted
 * resources are never changed.
 */
async function bringToSpec(
  kit: EngineKit,
  resource: DesiredResource,
  recorded: ResourceRecord,
  provider: ResourceProvider,
  context: ResourceContext,
  records: Map<string, ResourceRecord>,
  entries: Map<string, CreateEntry>,
): Promise<void> {
  const { cluster, state, progress, signal, logger } = kit.settings;
  const base = { key: resource.key, kind: resource.kind };
  const drift =
    recorded.adopted === true || provider.drift === undefined
      ? []
      : await provider.drift(resource, recorded, context);
  if (drift.length === 0) {
    entries.set(resource.key, { ...base, outcome: 'exists', id: recorded.id });
    progress.update(resource.key, 'exists', recorded.id);
    return;
  }
  const fields = drift.map((d) => d.field).join(', ');
  if (provider.update === undefined) {
    logger.warn(
      { resource: resource.key, drift },
      `${resource.key} differs from the spec (${fields}), and a ${resource.kind} cannot be changed in place: ${notInPlace(resource.kind)}`,
    );
    entries.set(resource.key, { ...base, outcome: 'drifted', id: recorded.id, drift });
    progress.update(resource.key, 'drifted', fields);
    return;
  }
  progress.update(resource.key, 'updating', fields);
  const updated = await provider.update(resource, recorded, context);
  if (JSON.stringify(updated) !== JSON.stringify(recorded)) {
    await state.replaceResource(cluster, updated, signal);
  }
  records.set(resource.key, updated);
  logger.info({ resource: resource.key, drift }, `updated ${resource.key} (${fields})`);
  entries.set(resource.key, { ...base, outcome: 'updated', id: updated.id, drift });
  progress.update(resource.key, 'updated', fields);
}

/** Creates (or resumes creating) every resource of the graph. Throws after reporting when one failed. */
export async function createCluster(
  kit: EngineKit,
  graph: readonly DesiredResource[],
): Promise<CreateResult> {
  const { cluster, state, progress, signal, logger } = kit.settings;
  kit.requireProviders(graph.map((r) => r.kind));
  await kit.preflight(graph);
  const desired = new Map(graph.map((r) => [r.key, r]));
  const records = await kit.readRecords();
  const context = kit.context(records);
  const entries = new Map<string, CreateEntry>();
  let created = 0;
  progress.start(
    topologicalOrder(graph.map((r) => ({ key: r.key, after: r.dependsOn }))),
    `creating cluster "${cluster}"`,
  );
  const work = async (key: string) => {
    const resource = desired.get(key) as DesiredResource;
    const base = { key, kind: resource.kind };
    const recorded = records.get(key);
    const provider = kit.provider(resource.kind);
    if (recorded !== undefined) {
      await bringToSpec(kit, resource, recorded, provider, context, records, entries);
      return;
    }
    progress.update(key, 'looking');
    const found = await provider.find(resource, context);
    let record: ResourceRecord;
    if (found !== undefined) {
      record = provider.complete === undefined ? found : await provider.complete(resource, found, context);
    } else {
      progress.update(key, 'creating');
      record = await provider.create(resource, context);
      created += 1;
      kit.settings.hooks?.afterCreate?.(key, created);
    }
    await state.recordResource(cluster, record, signal);
    records.set(key, record);
    const outcome = found === undefined ? 'created' : found.adopted === true ? 'adopted' : 'found';
    entries.set(key, { ...base, outcome, id: record.id });
    progress.update(key, outcome, record.id);
  };
  const outcome = await runInOrder(
    graph.map((r) => ({ key: r.key, after: r.dependsOn })),
    kit.settings.concurrency ?? 4,
    async (key) => {
      try {
        await work(key);
      } catch (error) {
        progress.update(key, 'failed', message(error));
        throw error;
      }
    },
    signal,
  );
  for (const key of outcome.blocked) progress.update(key, 'blocked');
  progress.finish();
  const result: CreateResult = {
    cluster,
    table: state.tableName,
    entries: graph.map(
      (r) =>
        entries.get(r.key) ??
        (outcome.failed.has(r.key)
          ? { key: r.key, kind: r.kind, outcome: 'failed', error: message(outcome.failed.get(r.key)) }
          : { key: r.key, kind: r.kind, outcome: 'blocked' }),
    ),
    outputs: Object.fromEntries([...records.values()].map((r) => [r.key, r.outputs])),
  };
  if (outcome.failed.size > 0) {
    const [firstKey, firstError] = [...outcome.failed.entries()][0] as [string, unknown];
    for (const [key, error] of outcome.failed) logger.error({ resource: key, err: error }, `${key} failed`);
    const text = `could not create ${[...outcome.failed.keys()].join(', ')}${outcome.blocked.length > 0 ? ` (${outcome.blocked.length} resources waiting for them not created)` : ''}: ${firstKey}: ${message(firstError)}`;
    if (isKbootError(firstError)) {
      firstError.message = text;
      throw firstError;
    }
    throw new StateConflictError(text, {
      cause: firstError,
      hint: "fix the cause and run 'kboot cluster create' again: it resumes from what is recorded",
    });
  }
  return result;
}
