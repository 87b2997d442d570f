/**
 * The resource graph of a cluster spec, as golden files: every folder test/cases/cluster-graph-<name>/
 * holds spec.yaml (the cluster is named "demo") and graph.json, the exact `clusterGraph` output.
 * UPDATE_GOLDEN=1 rewrites graph.json from the current output (review the diff). Also checked for
 * every case: keys unique, every dependency in the graph, no cycle, every resource reaching the
 * table (it is where its record goes).
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { clusterGraph, resourceTags } from '../../../../src/domain/cluster/graph.js';
import { checkOrder } from '../../../../src/domain/cluster/order.js';
import type { DesiredResource } from '../../../../src/domain/cluster/resource.js';
import { parseClusterSpec } from '../../../../src/domain/cluster/spec.js';
import { repoRoot } from '../../../support/paths.js';

const casesDir = path.join(repoRoot(), 'test', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(casesDir).filter((name) => name.startsWith('cluster-graph-'));

function graphOf(name: string): DesiredResource[] {
  const text = readFileSync(path.join(casesDir, name, 'spec.yaml'), 'utf8');
  return clusterGraph(parseClusterSpec(text, `${name}/spec.yaml`, { name: 'demo' }));
}

function reachesTable(graph: readonly DesiredResource[], key: string): boolean {
  if (key === 'dynamodb-table') return true;
  const resource = graph.find((r) => r.key === key);
  return resource?.dependsOn.some((dep) => reachesTable(graph, dep)) === true;
}

describe('cluster resource graph', () => {
  it('has cases', () => assert.ok(cases.length >= 2));

  for (const name of cases) {
    it(`${name}: matches graph.json`, () => {
      const graph = graphOf(name);
      const file = path.join(casesDir, name, 'graph.json');
      const text = `${JSON.stringify(graph, null, 2)}\n`;
      if (update) writeFileSync(file, text);
      assert.equal(text, readFileSync(file, 'utf8'));
    });

    it(`${name}: every launch template requires IMDSv2 at hop limit 1`, () => {
      const templates = graphOf(name).filter((r) => r.kind === 'launch-template');
      assert.ok(templates.length >= 1, 'the control-plane template at least');
      for (const template of templates) {
        assert.equal(
          (template.properties as { metadataHopLimit?: number }).metadataHopLimit,
          1,
          template.key,
        );
      }
    });

    it(`${name}: is an ordered graph where everything reaches the table`, () => {
      const graph = graphOf(name);
      checkOrder(graph.map((r) => ({ key: r.key, after: r.dependsOn })));
      for (const resource of graph) assert.ok(reachesTable(graph, resource.key), resource.key);
    });
  }

  it('puts the spec tags under kboot’s, which cannot be overridden', () => {
    assert.deepEqual(resourceTags({ name: 'demo', tags: { team: 'a' } }, 'kms-key'), {
      team: 'a',
      'kubernetes.io/cluster/demo': 'owned',
      'kboot.io/cluster': 'demo',
      'kboot.io/resource': 'kms-key',
      'kboot.io/managed-by': 'kboot',
    });
  });
});
