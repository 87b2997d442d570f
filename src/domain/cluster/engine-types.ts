/**
 * What the cluster engine works with and reports: the resource records' store, the providers,
 * the progress display, its settings, and the plan, create and destroy results.
 */

import type { Logger } from '../../core/logger.js';
import type { Drift, ResourceProvider, ResourceRecord } from './resource.js';

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
  /**
   * Deletes every item left of the cluster: its partition (record, locks, members) and its leave
   * requests' (`leave#<name>`); returns how many.
   */
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
