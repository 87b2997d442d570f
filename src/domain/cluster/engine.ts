/**
 * The engine of `kboot cluster plan|create|destroy`, over the resource graph (graph.ts), the
 * providers (one per kind, resource.ts) and the cluster's resource records in DynamoDB:
 * - plan: what create would do per resource — create, adopt (found: made by an earlier, killed
 *   run, or there before kboot), drift (recorded, differs from the spec) or no change. Reads only.
 * - create: dependency order, independent resources concurrently (a small limit); each resource
 *   recorded the moment its AWS call returns. Resume is the same walk: a recorded resource is
 *   skipped; an unrecorded one is first looked for (`find`) so nothing is made twice.
 * - destroy: the recorded resources only, dependents first; never those recorded as adopted;
 *   the state table last, only when kboot made it and no other cluster's items remain in it.
 *   What could not be deleted is reported and keeps its record, so destroy can be run again.
 */

import { ConfigError, isKbootError, StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { KEYS } from './graph.js';
import { runInOrder, topologicalOrder } from './order.js';
import type {
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from './resource.js';

/** The cluster's resource records (items `resource#<key>` in its partition). */
export interface ResourceState {
  readonly tableName: string;
  /** Undefined when the table does not exist. */
  readResources(cluster: string, signal?: AbortSignal): Promise<ResourceRecord[] | undefined>;
  /** A conditional put: fails with StateConflictError when the key is recorded already. */
  recordResource(cluster: string, record: ResourceRecord, signal?: AbortSignal): Promise<void>;
  /** Overwrites a recorded resource's record (after an update); fails when it is not recorded. */
  replaceResource(cluster: string, record: ResourceRecord, signal?: AbortSignal): Promise<void>;
  forgetResource(cluster: string, key: string, signal?: AbortSignal): Promise<void>;
  /** Deletes every item left in the cluster's partition (record, locks, members); returns how many. */
  clearCluster(cluster: string, signal?: AbortSignal): Promise<number>;
  /** Whether any item of another cluster (or any item not kboot's) is in the table. */
  holdsOtherItems(cluster: string, signal?: AbortSignal): Promise<boolean>;
}

export interface ProviderLookup {
  get(kind: string): ResourceProvider | undefined;
}

export type ResourceStatus =
  | 'waiting'
  | 'looking'
  | 'creating'
  | 'created'
  | 'found'
  | 'adopted'
  | 'exists'
  | 'updating'
  | 'updated'
  | 'drifted'
  | 'deleting'
  | 'deleted'
  | 'gone'
  | 'kept'
  | 'failed'
  | 'blocked';

/** Where the engine reports each resource's state transitions (the progress display). */
export interface Progress {
  start(keys: readonly string[], title: string): void;
  update(key: string, status: ResourceStatus, detail?: string): void;
  finish(): void;
}

export interface EngineHooks {
  /** After a create call returned, before it is recorded (tests kill the process here). */
  afterCreate?(key: string, createdSoFar: number): void;
}

export interface EngineSettings {
  cluster: string;
  region: string;
  state: ResourceState;
  providers: ProviderLookup;
  progress: Progress;
  logger: Logger;
  /** Tags for a resource (the spec's plus kboot's). */
  tagsFor(key: string): Record<string, string>;
  /** Resources worked on at once; default 4. */
  concurrency?: number;
  signal: AbortSignal;
  hooks?: EngineHooks;
}

export type PlanAction = 'create' | 'adopt' | 'drift' | 'no-change';

export interface PlanEntry {
  key: string;
  kind: string;
  action: PlanAction;
  dependsOn: string[];
  /** The existing resource (recorded or found). */
  id?: string;
  /** Found, but not made by kboot: recorded as adopted, never deleted. */
  adopted?: boolean;
  drift?: Drift[];
}

export interface Plan {
  cluster: string;
  table: string;
  region: string;
  entries: PlanEntry[];
  summary: Record<PlanAction, number>;
}

export interface CreateEntry {
  key: string;
  kind: string;
  outcome: 'created' | 'found' | 'adopted' | 'exists' | 'updated' | 'drifted' | 'failed' | 'blocked';
  id?: string;
  error?: string;
  /** updated: what was changed; drifted: what differs and cannot be changed in place. */
  drift?: Drift[];
}

export interface CreateResult {
  cluster: string;
  table: string;
  entries: CreateEntry[];
  /** Outputs of the recorded resources, by key (ARNs, ids, the API endpoint's DNS name). */
  outputs: Record<string, Record<string, string>>;
}

export interface DestroyEntry {
  key: string;
  kind: string;
  id: string;
  outcome: 'deleted' | 'already-gone' | 'kept' | 'failed' | 'blocked' | 'would-delete' | 'would-keep';
  reason?: string;
}

export interface DestroyResult {
  cluster: string;
  table: string;
  dryRun: boolean;
  entries: DestroyEntry[];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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

function emptySummary(): Record<PlanAction, number> {
  return { create: 0, adopt: 0, drift: 0, 'no-change': 0 };
}

export class ClusterEngine {
  readonly #s: EngineSettings;

  constructor(settings: EngineSettings) {
    this.#s = settings;
  }

  #context(records: Map<string, ResourceRecord>): ResourceContext {
    const { cluster, region, signal } = this.#s;
    return {
      cluster,
      region,
      signal,
      tagsFor: (key) => this.#s.tagsFor(key),
      outputsOf: (key) => {
        const record = records.get(key);
        if (record === undefined) {
          throw new StateConflictError(`${key} is not recorded for cluster "${cluster}" yet`, {
            hint: "run 'kboot cluster create' again: it creates what is missing in order",
          });
        }
        return record.outputs;
      },
    };
  }

  #provider(kind: string): ResourceProvider {
    const provider = this.#s.providers.get(kind);
    if (provider === undefined) {
      throw new ConfigError(`this kboot cannot manage resources of kind "${kind}"`, {
        hint: 'upgrade kboot to a version that ships it (see CHANGELOG.md)',
      });
    }
    return provider;
  }

  /** Fails before any change when a kind of the graph has no provider. */
  #requireProviders(kinds: Iterable<string>): void {
    const missing = [...new Set(kinds)].filter((kind) => this.#s.providers.get(kind) === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        `this kboot cannot manage resources of kind ${missing.map((k) => `"${k}"`).join(', ')}`,
        {
          hint: 'upgrade kboot to a version that ships them (see CHANGELOG.md)',
        },
      );
    }
  }

  async #readRecords(): Promise<Map<string, ResourceRecord>> {
    const records = await this.#s.state.readResources(this.#s.cluster, this.#s.signal);
    return new Map((records ?? []).map((record) => [record.key, record]));
  }

  /** What create would do; reads only (find, drift and the state). */
  async plan(graph: readonly DesiredResource[]): Promise<Plan> {
    this.#requireProviders(graph.map((r) => r.kind));
    const records = await this.#readRecords();
    const context = this.#context(records);
    const byKey = new Map<string, PlanEntry>();
    const order = topologicalOrder(graph.map((r) => ({ key: r.key, after: r.dependsOn })));
    const desired = new Map(graph.map((r) => [r.key, r]));
    for (const key of order) {
      const resource = desired.get(key) as DesiredResource;
      const provider = this.#provider(resource.kind);
      const base = { key, kind: resource.kind, dependsOn: [...resource.dependsOn] };
      const record = records.get(key);
      if (record !== undefined) {
        const drift = provider.drift === undefined ? [] : await provider.drift(resource, record, context);
        byKey.set(key, {
          ...base,
          action: drift.length > 0 ? 'drift' : 'no-change',
          id: record.id,
          ...(record.adopted === true ? { adopted: true } : {}),
          ...(drift.length > 0 ? { drift } : {}),
        });
        continue;
      }
      // Nothing that waits for a resource still to be made can exist yet: no need to look.
      if (resource.dependsOn.some((dep) => byKey.get(dep)?.action === 'create')) {
        byKey.set(key, { ...base, action: 'create' });
        continue;
      }
      const found = await provider.find(resource, context);
      byKey.set(
        key,
        found === undefined
          ? { ...base, action: 'create' }
          : { ...base, action: 'adopt', id: found.id, ...(found.adopted === true ? { adopted: true } : {}) },
      );
      if (found !== undefined) records.set(key, found);
    }
    const entries = order.map((key) => byKey.get(key) as PlanEntry);
    const summary = emptySummary();
    for (const entry of entries) summary[entry.action] += 1;
    return {
      cluster: this.#s.cluster,
      table: this.#s.state.tableName,
      region: this.#s.region,
      entries,
      summary,
    };
  }

  /**
   * A recorded resource on create: unchanged; drifted and updated in place (the new record
   * replaces the old, so dependents read its new outputs, e.g. a group a template's new version);
   * or drifted in a way its kind cannot change in place, reported with what to do. Adopted
   * resources are never changed.
   */
  async #bringToSpec(
    resource: DesiredResource,
    recorded: ResourceRecord,
    provider: ResourceProvider,
    context: ResourceContext,
    records: Map<string, ResourceRecord>,
    entries: Map<string, CreateEntry>,
  ): Promise<void> {
    const { cluster, state, progress, signal, logger } = this.#s;
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
  async create(graph: readonly DesiredResource[]): Promise<CreateResult> {
    const { cluster, state, progress, signal, logger } = this.#s;
    this.#requireProviders(graph.map((r) => r.kind));
    const desired = new Map(graph.map((r) => [r.key, r]));
    const records = await this.#readRecords();
    const context = this.#context(records);
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
      const provider = this.#provider(resource.kind);
      if (recorded !== undefined) {
        await this.#bringToSpec(resource, recorded, provider, context, records, entries);
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
        this.#s.hooks?.afterCreate?.(key, created);
      }
      await state.recordResource(cluster, record, signal);
      records.set(key, record);
      const outcome = found === undefined ? 'created' : found.adopted === true ? 'adopted' : 'found';
      entries.set(key, { ...base, outcome, id: record.id });
      progress.update(key, outcome, record.id);
    };
    const outcome = await runInOrder(
      graph.map((r) => ({ key: r.key, after: r.dependsOn })),
      this.#s.concurrency ?? 4,
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

  /** Deletes what kboot recorded for the cluster, dependents first. */
  async destroy(options: { dryRun: boolean }): Promise<DestroyResult> {
    const { cluster, state, progress, signal } = this.#s;
    const records = await this.#readRecords();
    const result: DestroyResult = { cluster, table: state.tableName, dryRun: options.dryRun, entries: [] };
    if (records.size === 0) return result;
    const table = records.get(KEYS.table);
    const others = [...records.values()].filter((r) => r.key !== KEYS.table);
    const context = this.#context(records);
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

    progress.start(
      [...order, ...(table === undefined ? [] : [table.key])],
      `destroying cluster "${cluster}"`,
    );
    const outcome = await runInOrder(
      items,
      this.#s.concurrency ?? 4,
      async (key) => {
        const r = records.get(key) as ResourceRecord;
        if (r.adopted === true) {
          entries.set(key, entryOf(r, 'kept', adoptedReason));
          progress.update(key, 'kept', adoptedReason);
          return;
        }
        try {
          progress.update(key, 'deleting', r.id);
          const deleted = await this.#provider(r.kind).delete(r, context);
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
        result.entries.push(await this.#destroyTable(table, context));
      }
    } else if (!incomplete) {
      await state.clearCluster(cluster, signal);
    }
    progress.finish();
    return result;
  }

  /** The cluster's items go; the table too when kboot made it and nothing else is in it. */
  async #destroyTable(table: ResourceRecord, context: ResourceContext): Promise<DestroyEntry> {
    const { cluster, state, progress, signal } = this.#s;
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
      const deleted = await this.#provider(table.kind).delete(table, context);
      progress.update(table.key, deleted === 'deleted' ? 'deleted' : 'gone', table.id);
      return entry(deleted);
    } catch (error) {
      progress.update(table.key, 'failed', message(error));
      return entry('failed', message(error));
    }
  }
}

/** The resources destroy could not delete (failed or held back), for the exit status. */
export function undeleted(result: DestroyResult): DestroyEntry[] {
  return result.entries.filter((e) => e.outcome === 'failed' || e.outcome === 'blocked');
}
