/**
 * The cluster engine over in-memory providers and state: order and concurrency, recording,
 * resume (recorded → skipped, unrecorded → found and completed), failures holding back their
 * dependents, and destroy (reverse order, adopted kept, the table last and only when empty of
 * other clusters). The AWS providers are tested against moto (test/integration/cluster).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterEngine } from '../../../../src/domain/cluster/engine.js';
import { undeleted } from '../../../../src/domain/cluster/engine-destroy.js';
import type { Progress, ResourceState } from '../../../../src/domain/cluster/engine-types.js';
import { checkOrder, runInOrder, topologicalOrder } from '../../../../src/domain/cluster/order.js';
import type {
  DesiredResource,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../../src/domain/cluster/resource.js';
import { silentLogger } from '../../../support/silent-logger.js';

/** What exists "in AWS" for the fakes: key → id. */
class World {
  readonly resources = new Map<string, { id: string; adopted?: boolean }>();
  readonly calls: string[] = [];
  failOn = new Set<string>();
  running = 0;
  maxRunning = 0;
}

function fakeProvider(kind: string, world: World): ResourceProvider {
  const rec = (desired: DesiredResource, id: string, adopted?: boolean): ResourceRecord => ({
    key: desired.key,
    kind,
    id,
    dependsOn: desired.dependsOn,
    outputs: { id },
    createdAt: '2026-11-23T00:00:00.000Z',
    ...(adopted === true ? { adopted } : {}),
  });
  return {
    kind,
    async find(desired) {
      world.calls.push(`find ${desired.key}`);
      const found = world.resources.get(desired.key);
      return found === undefined ? undefined : rec(desired, found.id, found.adopted);
    },
    async create(desired, context: ResourceContext) {
      world.calls.push(`create ${desired.key}`);
      for (const dep of desired.dependsOn) context.outputsOf(dep);
      world.running += 1;
      world.maxRunning = Math.max(world.maxRunning, world.running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      world.running -= 1;
      if (world.failOn.has(desired.key)) throw new Error(`${desired.key} refused`);
      const id = `id-${desired.key}`;
      world.resources.set(desired.key, { id });
      return rec(desired, id);
    },
    async delete(record) {
      world.calls.push(`delete ${record.key}`);
      if (world.failOn.has(record.key)) throw new Error(`${record.key} refused`);
      return world.resources.delete(record.key) ? 'deleted' : 'already-gone';
    },
  };
}

class MemoryState implements ResourceState {
  readonly tableName = 'kboot';
  readonly records = new Map<string, ResourceRecord>();
  otherItems = false;
  cleared = 0;
  async readResources() {
    return [...this.records.values()];
  }
  async recordResource(_cluster: string, record: ResourceRecord) {
    assert.ok(!this.records.has(record.key), `${record.key} recorded twice`);
    this.records.set(record.key, record);
  }
  async replaceResource(_cluster: string, record: ResourceRecord) {
    assert.ok(this.records.has(record.key), `${record.key} replaced but not recorded`);
    this.records.set(record.key, record);
  }
  async forgetResource(_cluster: string, key: string) {
    this.records.delete(key);
  }
  async clearCluster() {
    this.cleared += 1;
    this.records.clear();
    return 0;
  }
  async holdsOtherItems() {
    return this.otherItems;
  }
}

const quietProgress: Progress = { start() {}, update() {}, finish() {} };

const GRAPH: DesiredResource[] = [
  { key: 'dynamodb-table', kind: 'table', dependsOn: [], properties: {} },
  { key: 'kms-key', kind: 'key', dependsOn: ['dynamodb-table'], properties: {} },
  ...['a', 'b', 'c', 'd', 'e', 'f'].map((name) => ({
    key: `secret/${name}`,
    kind: 'secret',
    dependsOn: ['kms-key'],
    properties: {},
  })),
  { key: 'asg', kind: 'asg', dependsOn: ['secret/a', 'secret/f'], properties: {} },
];

function engine(world: World, state: MemoryState, concurrency = 3, extra: Partial<ResourceProvider> = {}) {
  const providers = new Map(
    ['table', 'key', 'secret', 'asg'].map((kind) => [
      kind,
      kind === 'secret' ? { ...fakeProvider(kind, world), ...extra } : fakeProvider(kind, world),
    ]),
  );
  return new ClusterEngine({
    cluster: 'demo',
    region: 'eu-west-1',
    state,
    providers: { get: (kind) => providers.get(kind) },
    progress: quietProgress,
    logger: silentLogger(),
    tagsFor: () => ({}),
    concurrency,
    signal: new AbortController().signal,
  });
}

describe('order', () => {
  it('puts dependencies first and refuses unknown keys and cycles', () => {
    assert.deepEqual(
      topologicalOrder([
        { key: 'b', after: ['a'] },
        { key: 'a', after: [] },
      ]),
      ['a', 'b'],
    );
    assert.throws(() => checkOrder([{ key: 'a', after: ['x'] }]), /depends on x, which is not in the graph/);
    assert.throws(
      () =>
        checkOrder([
          { key: 'a', after: ['b'] },
          { key: 'b', after: ['a'] },
        ]),
      /cycle/,
    );
  });

  it('blocks what waits for a failure and runs the rest', async () => {
    const ran: string[] = [];
    const outcome = await runInOrder(
      [
        { key: 'a', after: [] },
        { key: 'b', after: ['a'] },
        { key: 'c', after: [] },
        { key: 'd', after: ['b'] },
      ],
      2,
      async (key) => {
        ran.push(key);
        if (key === 'a') throw new Error('no');
      },
    );
    assert.deepEqual(ran.sort(), ['a', 'c']);
    assert.deepEqual([...outcome.failed.keys()], ['a']);
    assert.deepEqual(outcome.blocked, ['b', 'd']);
    assert.deepEqual(outcome.succeeded, ['c']);
  });
});

describe('cluster engine', () => {
  it('creates in order, at most `concurrency` at once, recording each', async () => {
    const world = new World();
    const state = new MemoryState();
    const result = await engine(world, state).create(GRAPH);
    assert.deepEqual([...state.records.keys()].sort(), GRAPH.map((r) => r.key).sort());
    assert.ok(result.entries.every((e) => e.outcome === 'created'));
    assert.equal(world.maxRunning, 3);
    const created = world.calls.filter((c) => c.startsWith('create')).map((c) => c.slice(7));
    assert.equal(created[0], 'dynamodb-table');
    assert.equal(created[1], 'kms-key');
    assert.equal(created.at(-1), 'asg');
  });

  it('plans creates without calling create, then nothing once created', async () => {
    const world = new World();
    const state = new MemoryState();
    const plan = await engine(world, state).plan(GRAPH);
    assert.deepEqual(plan.summary, { create: GRAPH.length, adopt: 0, drift: 0, 'no-change': 0 });
    // Only the root was looked for: nothing that waits for a resource to be made can exist.
    assert.deepEqual(world.calls, ['find dynamodb-table']);
    await engine(world, state).create(GRAPH);
    const again = await engine(world, state).plan(GRAPH);
    assert.deepEqual(again.summary, { create: 0, adopt: 0, drift: 0, 'no-change': GRAPH.length });
  });

  it('resumes: skips recorded resources and records found ones instead of creating them', async () => {
    const world = new World();
    const state = new MemoryState();
    await engine(world, state).create(GRAPH.slice(0, 3));
    world.resources.set('secret/b', { id: 'made-before-the-kill' });
    world.calls.length = 0;
    const result = await engine(world, state).create(GRAPH);
    const outcome = Object.fromEntries(result.entries.map((e) => [e.key, e.outcome]));
    assert.equal(outcome['dynamodb-table'], 'exists');
    assert.equal(outcome['secret/a'], 'exists');
    assert.equal(outcome['secret/b'], 'found');
    assert.equal(state.records.get('secret/b')?.id, 'made-before-the-kill');
    assert.ok(!world.calls.includes('create secret/b'));
    assert.ok(!world.calls.includes('create secret/a'));
  });

  it('reports a failure after finishing what does not depend on it, and holds back its dependents', async () => {
    const world = new World();
    world.failOn.add('secret/f');
    const state = new MemoryState();
    await assert.rejects(
      engine(world, state).create(GRAPH),
      /could not create secret\/f \(1 resources waiting for them not created\): secret\/f: secret\/f refused/,
    );
    assert.ok(state.records.has('secret/e'));
    assert.ok(!state.records.has('asg'));
    assert.ok(!world.calls.includes('create asg'));
  });

  it('destroys dependents first, keeps adopted resources, and deletes the table last when no other cluster uses it', async () => {
    const world = new World();
    world.resources.set('secret/c', { id: 'theirs', adopted: true });
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    world.calls.length = 0;
    const result = await engine(world, state).destroy({ dryRun: false });
    const deletes = world.calls.filter((c) => c.startsWith('delete')).map((c) => c.slice(7));
    assert.equal(deletes[0], 'asg');
    assert.equal(deletes.at(-2), 'kms-key');
    assert.equal(deletes.at(-1), 'dynamodb-table');
    assert.ok(!deletes.includes('secret/c'));
    assert.equal(result.entries.find((e) => e.key === 'secret/c')?.outcome, 'kept');
    assert.equal(world.resources.get('secret/c')?.id, 'theirs');
    assert.equal(state.records.size, 0);
    assert.deepEqual(undeleted(result), []);
  });

  it('lets an adopted resource release what the cluster put in it, and never deletes it', async () => {
    const world = new World();
    world.resources.set('secret/c', { id: 'theirs', adopted: true });
    const state = new MemoryState();
    const released: string[] = [];
    const release = async (record: ResourceRecord) => {
      released.push(record.key);
      return '3 object version(s) under demo/etcd/ deleted';
    };
    await engine(world, state).create(GRAPH);
    const dry = await engine(world, state, 3, { release }).destroy({ dryRun: true });
    assert.deepEqual(released, [], 'a dry run releases nothing');
    assert.equal(dry.entries.find((e) => e.key === 'secret/c')?.outcome, 'would-keep');
    const result = await engine(world, state, 3, { release }).destroy({ dryRun: false });
    assert.deepEqual(released, ['secret/c']);
    const entry = result.entries.find((e) => e.key === 'secret/c');
    assert.equal(entry?.outcome, 'kept');
    assert.match(entry?.reason ?? '', /adopted.*; 3 object version\(s\) under demo\/etcd\/ deleted/);
    assert.equal(world.resources.get('secret/c')?.id, 'theirs');
    assert.ok(!world.calls.includes('delete secret/c'));
  });

  it('keeps the records of an adopted resource whose release failed, and what it depends on', async () => {
    const world = new World();
    world.resources.set('secret/c', { id: 'theirs', adopted: true });
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    const release = async () => {
      throw new Error('access denied to s3:DeleteObjectVersion');
    };
    const result = await engine(world, state, 3, { release }).destroy({ dryRun: false });
    const left = undeleted(result).map((e) => `${e.key}:${e.outcome}`);
    assert.deepEqual(left.sort(), ['dynamodb-table:blocked', 'kms-key:blocked', 'secret/c:failed']);
    assert.ok(state.records.has('secret/c'));
  });

  it('runs every preflight before plan or create looks up or makes anything', async () => {
    const world = new World();
    const state = new MemoryState();
    const preflight = async (desired: DesiredResource) => {
      world.calls.push(`preflight ${desired.key}`);
      if (desired.key === 'secret/e') throw new Error('backup.bucket x does not exist');
    };
    for (const run of [
      (e: ReturnType<typeof engine>) => e.plan(GRAPH),
      (e: ReturnType<typeof engine>) => e.create(GRAPH),
    ]) {
      world.calls.length = 0;
      await assert.rejects(run(engine(world, state, 3, { preflight })), /backup.bucket x does not exist/);
      assert.ok(
        world.calls.every((c) => c.startsWith('preflight')),
        world.calls.join(', '),
      );
      assert.ok(world.calls.includes('preflight secret/e'));
    }
    assert.equal(world.resources.size, 0);
    assert.equal(state.records.size, 0);
  });

  it('keeps the table while other clusters have items in it', async () => {
    const world = new World();
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    state.otherItems = true;
    const result = await engine(world, state).destroy({ dryRun: false });
    assert.equal(result.entries.at(-1)?.outcome, 'kept');
    assert.ok(world.resources.has('dynamodb-table'));
    assert.equal(state.cleared, 1);
  });

  it('reports what it could not delete, keeps its records and its dependencies', async () => {
    const world = new World();
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    world.failOn.add('secret/a');
    const result = await engine(world, state).destroy({ dryRun: false });
    const left = undeleted(result).map((e) => `${e.key}:${e.outcome}`);
    assert.deepEqual(left.sort(), ['dynamodb-table:blocked', 'kms-key:blocked', 'secret/a:failed']);
    assert.deepEqual([...state.records.keys()].sort(), ['dynamodb-table', 'kms-key', 'secret/a']);
    assert.equal(state.cleared, 0);
  });

  it('destroy --dry-run deletes nothing', async () => {
    const world = new World();
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    world.calls.length = 0;
    const result = await engine(world, state).destroy({ dryRun: true });
    assert.deepEqual(world.calls, []);
    assert.equal(result.entries.length, GRAPH.length);
    assert.ok(result.entries.every((e) => e.outcome === 'would-delete'));
  });

  it('updates drifted resources whose kind can change in place, records new outputs, and reports the others', async () => {
    const world = new World();
    const state = new MemoryState();
    await engine(world, state).create(GRAPH);
    const drifted = new Set(['asg', 'kms-key', 'secret/a']);
    const withDrift = (kind: string, canUpdate: boolean): ResourceProvider => ({
      ...fakeProvider(kind, world),
      async drift(desired) {
        return drifted.has(desired.key) ? [{ field: 'size', want: '5', have: '3' }] : [];
      },
      ...(canUpdate
        ? {
            async update(desired, record) {
              world.calls.push(`update ${desired.key}`);
              drifted.delete(desired.key);
              return { ...record, outputs: { ...record.outputs, version: '2' } };
            },
          }
        : {}),
    });
    const providers = new Map<string, ResourceProvider>([
      ['table', fakeProvider('table', world)],
      ['key', withDrift('key', false)],
      ['secret', withDrift('secret', true)],
      ['asg', withDrift('asg', true)],
    ]);
    const updating = new ClusterEngine({
      cluster: 'demo',
      region: 'eu-west-1',
      state,
      providers: { get: (kind) => providers.get(kind) },
      progress: quietProgress,
      logger: silentLogger(),
      tagsFor: () => ({}),
      signal: new AbortController().signal,
    });
    world.calls.length = 0;
    const result = await updating.create(GRAPH);
    const outcome = (key: string) => result.entries.find((e) => e.key === key)?.outcome;
    assert.equal(outcome('asg'), 'updated');
    assert.equal(outcome('secret/a'), 'updated');
    assert.equal(outcome('kms-key'), 'drifted', 'a kind without update is reported, not changed');
    assert.equal(outcome('secret/b'), 'exists');
    assert.deepEqual(world.calls.sort(), ['update asg', 'update secret/a']);
    assert.equal(state.records.get('asg')?.outputs.version, '2', 'the new outputs are recorded');
    assert.equal(result.outputs['secret/a']?.version, '2');
    const plan = await updating.plan(GRAPH);
    assert.deepEqual(
      plan.entries.filter((e) => e.action === 'drift').map((e) => e.key),
      ['kms-key'],
    );
  });

  it('refuses a graph with a kind it has no provider for, before any change', async () => {
    const world = new World();
    const state = new MemoryState();
    const graph = [...GRAPH, { key: 'x', kind: 'mystery', dependsOn: [], properties: {} }];
    await assert.rejects(engine(world, state).create(graph), /cannot manage resources of kind "mystery"/);
    assert.deepEqual(world.calls, []);
  });
});
