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

import { createCluster } from './engine-create.js';
import { destroyCluster } from './engine-destroy.js';
import { type EngineKit, engineKit } from './engine-kit.js';
import { planCluster } from './engine-plan.js';
import type { CreateResult, DestroyResult, EngineSettings, Plan } from './engine-types.js';
import type { DesiredResource } from './resource.js';

export class ClusterEngine {
  readonly #kit: EngineKit;

  constructor(settings: EngineSettings) {
    this.#kit = engineKit(settings);
  }

  /** What create would do; reads only (find, drift and the state). */
  async plan(graph: readonly DesiredResource[]): Promise<Plan> {
    return planCluster(this.#kit, graph);
  }

  /** Creates (or resumes creating) every resource of the graph. Throws after reporting when one failed. */
  async create(graph: readonly DesiredResource[]): Promise<CreateResult> {
    return createCluster(this.#kit, graph);
  }

  /** Deletes what kboot recorded for the cluster, dependents first. */
  async destroy(options: { dryRun: boolean }): Promise<DestroyResult> {
    return destroyCluster(this.#kit, options);
  }
}
