/** `kboot cluster plan`: what create would do per resource; reads only (find, drift and the state). */

import type { EngineKit } from './engine-kit.js';
import type { Plan, PlanAction, PlanEntry } from './engine-types.js';
import { topologicalOrder } from './order.js';
import type { DesiredResource } from './resource.js';

function emptySummary(): Record<PlanAction, number> {
  return { create: 0, adopt: 0, drift: 0, 'no-change': 0 };
}

/** What create would do; reads only (find, drift and the state). */
export async function planCluster(kit: EngineKit, graph: readonly DesiredResource[]): Promise<Plan> {
  kit.requireProviders(graph.map((r) => r.kind));
  await kit.preflight(graph);
  const records = await kit.readRecords();
  const context = kit.context(records);
  const byKey = new Map<string, PlanEntry>();
  const order = topologicalOrder(graph.map((r) => ({ key: r.key, after: r.dependsOn })));
  const desired = new Map(graph.map((r) => [r.key, r]));
  for (const key of order) {
    const resource = desired.get(key) as DesiredResource;
    const provider = kit.provider(resource.kind);
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
    cluster: kit.settings.cluster,
    table: kit.settings.state.tableName,
    region: kit.settings.region,
    entries,
    summary,
  };
}
