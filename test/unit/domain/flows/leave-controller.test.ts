/**
 * The leave controller over fake ports: a verified request is claimed, drained and its Node
 * deleted with this master's admin.conf, then marked done; a request for an instance that is not
 * terminating, or whose node name or IP is not EC2's, is refused without a kubectl call; a young
 * unverified request waits; a request another master claimed is left alone; a worker cannot run
 * it; --dry-run changes nothing; old finished requests are forgotten. The request check itself
 * (verifyLeaveRequest) case by case. (End to end: test/integration/leave.test.ts.)
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { systemClock } from '../../../../src/core/clock.js';
import { IncompatibleError } from '../../../../src/core/errors.js';
import type { InstanceFact } from '../../../../src/domain/cleanup/ports.js';
import {
  FORGET_AFTER_MS,
  type LeaveControllerDeps,
  type LeaveControllerResult,
  leaveControllerFlow,
} from '../../../../src/domain/flows/leave-controller.js';
import { ADMIN_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import type { LifecycleActions } from '../../../../src/domain/leave/lifecycle.js';
import {
  type LeaveRequest,
  type LeaveRequestStore,
  type RequestFacts,
  verifyLeaveRequest,
} from '../../../../src/domain/leave/request.js';
import type { KubectlRunner } from '../../../../src/domain/ports/kubectl.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { RunSettings } from '../../../../src/domain/steps/step.js';
import { silentLogger } from '../../../support/silent-logger.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const WORKER = { instanceId: 'i-worker', nodeName: 'ip-10-0-2-20.ec2.internal', privateIp: '10.0.2.20' };
const OTHER = { instanceId: 'i-other', nodeName: 'ip-10-0-2-30.ec2.internal', privateIp: '10.0.2.30' };

function request(of: typeof WORKER, fields: Partial<LeaveRequest> = {}): LeaveRequest {
  return {
    ...of,
    drainTimeoutSeconds: 120,
    requestedAt: new Date(Date.now() - 60_000).toISOString(),
    groupName: 'workers',
    hookName: 'kboot-leave',
    state: undefined,
    ...fields,
  };
}

function fact(of: typeof WORKER, fields: Partial<InstanceFact> = {}): InstanceFact {
  return {
    instanceId: of.instanceId,
    state: 'running',
    privateDnsName: of.nodeName,
    privateIp: of.privateIp,
    cluster: 'prod',
    ...fields,
  };
}

/** An in-memory store with the adapter's conditions (claim only pending or stale, finish only own claim). */
function memoryStore(items: LeaveRequest[], events: string[], options: { claimedElsewhere?: boolean } = {}) {
  const byId = new Map(items.map((item) => [item.instanceId, { ...item }]));
  const store: LeaveRequestStore = {
    put: async () => {
      throw new Error('unexpected call: put');
    },
    read: async (_cluster, id) => byId.get(id),
    list: async () => [...byId.values()],
    claim: async (_cluster, id, claim) => {
      const item = byId.get(id);
      if (options.claimedElsewhere === true || item === undefined) return false;
      const stale = item.state === 'draining' && (item.claimedAt ?? '') < claim.staleBefore;
      if (item.state !== undefined && !stale) return false;
      Object.assign(item, { state: 'draining', claimedBy: claim.by, claimedAt: claim.at });
      events.push(`claim ${id}`);
      return true;
    },
    finish: async (_cluster, id, outcome) => {
      const item = byId.get(id);
      assert.equal(item?.claimedBy, outcome.by, 'finishes only its own claim');
      Object.assign(item, { state: outcome.state, finishedAt: outcome.at, detail: outcome.detail });
      events.push(`finish ${id} ${outcome.state}`);
    },
    remove: async (_cluster, id) => {
      byId.delete(id);
      events.push(`remove ${id}`);
    },
  };
  return { store, byId };
}

interface Scenario {
  role?: Role;
  requests: LeaveRequest[];
  facts: InstanceFact[];
  lifecycleStates: Record<string, string>;
  claimedElsewhere?: boolean;
  adminConf?: boolean;
  dryRun?: boolean;
}

async function run(scenario: Scenario) {
  const events: string[] = [];
  const kubeconfigs: string[] = [];
  const root = mkdtempSync(path.join(tmpdir(), 'kboot-leave-controller-'));
  roots.push(root);
  const fs = new FsRoot(root);
  if (scenario.adminConf !== false) await fs.writePrivateFile(ADMIN_CONF_PATH, 'admin.conf');
  const { store, byId } = memoryStore(scenario.requests, events, {
    ...(scenario.claimedElsewhere === undefined ? {} : { claimedElsewhere: scenario.claimedElsewhere }),
  });
  const unexpected = (what: string) => async (): Promise<never> => {
    throw new Error(`unexpected call: ${what}`);
  };
  const kubectl: KubectlRunner = {
    run: async (args, options) => {
      events.push(`kubectl ${args[0]} ${args[1] === 'node' ? args[2] : args[1]}`);
      kubeconfigs.push(options.kubeconfigPath);
      return { stdout: `${args[0]} ok\n`, stderr: '' };
    },
  };
  const lifecycle: LifecycleActions = {
    findGroup: async (id) => {
      const state = scenario.lifecycleStates[id];
      return state === undefined ? undefined : { groupName: 'workers', lifecycleState: state };
    },
    findHook: unexpected('findHook'),
    recordHeartbeat: unexpected('recordHeartbeat'),
    complete: unexpected('complete'),
  };
  const deps = {
    logger: silentLogger(),
    clock: systemClock,
    fs,
    config: {},
    settings: {
      dryRun: scenario.dryRun === true,
      waitTimeoutMs: 1000,
      leaseMs: 1000,
      kubeadmTimeoutMs: 1000,
      addonTimeoutMs: 1000,
      tokenTtlMs: 1000,
      minMaterialLifeMs: 1000,
      pollMs: 10,
    },
    identity: async (): Promise<Identity> => ({
      instance: {
        instanceId: 'i-master',
        region: 'us-east-1',
        availabilityZone: 'us-east-1a',
        privateIpv4: '10.0.1.10',
        accountId: '123456789012',
        instanceType: 't3.medium',
        imageId: 'ami-1',
        architecture: 'x86_64',
      },
      clusterName: 'prod',
      role: scenario.role ?? 'control-plane',
      tableFromTag: undefined,
      tagsSource: 'instance-metadata',
    }),
    privateDnsName: async () => 'ip-10-0-1-10.ec2.internal',
    state: unexpected('state'),
    joinMaterial: unexpected('joinMaterial'),
    oidcPublisher: unexpected('oidcPublisher'),
    pkiSecrets: unexpected('pkiSecrets'),
    discoverApiEndpoint: unexpected('discoverApiEndpoint'),
    kubeadm: { run: unexpected('kubeadm') },
    kubectl,
    lifecycle: async () => lifecycle,
    leaveRequests: async () => store,
    cleanup: {
      registry: unexpected('registry'),
      instances: async () => ({
        lookup: async (query) => {
          events.push(`ec2 ${query.instanceIds.join(',')}`);
          const found = scenario.facts.filter((one) => query.instanceIds.includes(one.instanceId));
          return { byId: new Map(found.map((one) => [one.instanceId, one])), byDnsName: new Map() };
        },
      }),
      etcd: unexpected('cleanup etcd'),
      nodes: unexpected('nodes'),
      etcdEndpointsOverride: undefined,
    },
  } satisfies LeaveControllerDeps;
  const settings: RunSettings = {
    logger: deps.logger,
    clock: systemClock,
    signal: new AbortController().signal,
    dryRun: scenario.dryRun === true,
    undoBudgetMs: 10_000,
    stopGraceMs: 1_000,
  };
  let error: unknown;
  let result: LeaveControllerResult | undefined;
  let planned: string[] = [];
  try {
    const done = await runFlow(leaveControllerFlow, deps, settings, {});
    result = done.result;
    planned = done.planned.map((step) => step.description);
  } catch (caught) {
    error = caught instanceof FlowStopped ? caught.failure.error : caught;
  }
  return { events, kubeconfigs, result, error, byId, planned };
}

describe('the leave controller flow', () => {
  it('a verified request: claimed, drained and its Node deleted with admin.conf, then marked done', async () => {
    const { events, kubeconfigs, result, error, byId } = await run({
      requests: [request(WORKER)],
      facts: [fact(WORKER)],
      lifecycleStates: { [WORKER.instanceId]: 'Terminating:Wait' },
    });
    assert.equal(error, undefined);
    assert.deepEqual(events, [
      'ec2 i-worker',
      'claim i-worker',
      `kubectl get ${WORKER.nodeName}`,
      `kubectl drain ${WORKER.nodeName}`,
      `kubectl delete ${WORKER.nodeName}`,
      'finish i-worker done',
    ]);
    assert.ok(kubeconfigs.every((file) => file.endsWith('/etc/kubernetes/admin.conf')));
    assert.equal(byId.get(WORKER.instanceId)?.state, 'done');
    assert.equal(result?.requests[0]?.outcome, 'done');
  });

  it('EC2 shutting down an instance outside Auto Scaling is proof enough', async () => {
    const { events, error } = await run({
      requests: [request(WORKER)],
      facts: [fact(WORKER, { state: 'shutting-down' })],
      lifecycleStates: {},
    });
    assert.equal(error, undefined);
    assert.ok(events.includes(`kubectl drain ${WORKER.nodeName}`));
  });

  it('refuses, without a kubectl call, a request for an instance that is not terminating', async () => {
    // A worker wrote a request naming another, healthy instance.
    const { events, result, byId } = await run({
      requests: [request(OTHER)],
      facts: [fact(OTHER)],
      lifecycleStates: { [OTHER.instanceId]: 'InService' },
    });
    assert.ok(!events.some((event) => event.startsWith('kubectl')), events.join(', '));
    assert.equal(byId.get(OTHER.instanceId)?.state, 'refused');
    assert.match(result?.requests[0]?.detail ?? '', /InService in Auto Scaling, not Terminating:Wait/);
  });

  it('refuses a request whose node name or IP is not the instance’s own in EC2', async () => {
    const lying = request(WORKER, { nodeName: OTHER.nodeName });
    const { events, byId } = await run({
      requests: [lying, request(OTHER, { privateIp: '10.9.9.9' })],
      facts: [fact(WORKER), fact(OTHER)],
      lifecycleStates: { [WORKER.instanceId]: 'Terminating:Wait', [OTHER.instanceId]: 'Terminating:Wait' },
    });
    assert.ok(!events.some((event) => event.startsWith('kubectl')), events.join(', '));
    assert.match(
      byId.get(WORKER.instanceId)?.detail ?? '',
      /names node ip-10-0-2-30.* but instance i-worker is ip-10-0-2-20/,
    );
    assert.match(byId.get(OTHER.instanceId)?.detail ?? '', /gives IP 10\.9\.9\.9/);
  });

  it('leaves a young request Auto Scaling does not show as terminating yet for the next run', async () => {
    const young = request(WORKER, { requestedAt: new Date().toISOString() });
    const { events, result, byId } = await run({
      requests: [young],
      facts: [fact(WORKER)],
      lifecycleStates: { [WORKER.instanceId]: 'InService' },
    });
    assert.deepEqual(events, ['ec2 i-worker']);
    assert.equal(byId.get(WORKER.instanceId)?.state, undefined);
    assert.equal(result?.requests[0]?.outcome, 'waiting');
  });

  it('leaves alone a request another master claimed', async () => {
    const { events, result } = await run({
      requests: [request(WORKER)],
      facts: [fact(WORKER)],
      lifecycleStates: { [WORKER.instanceId]: 'Terminating:Wait' },
      claimedElsewhere: true,
    });
    assert.ok(!events.some((event) => event.startsWith('kubectl')));
    assert.equal(result?.requests[0]?.outcome, 'taken');
  });

  it('takes over a claim whose master died (older than the stale limit), not a fresh one', async () => {
    const stale = request(WORKER, {
      state: 'draining',
      claimedBy: 'i-dead',
      claimedAt: new Date(Date.now() - 11 * 60_000).toISOString(),
    });
    const fresh = request(OTHER, {
      state: 'draining',
      claimedBy: 'i-busy',
      claimedAt: new Date().toISOString(),
    });
    const { events } = await run({
      requests: [stale, fresh],
      facts: [fact(WORKER), fact(OTHER)],
      lifecycleStates: { [WORKER.instanceId]: 'Terminating:Wait', [OTHER.instanceId]: 'Terminating:Wait' },
    });
    assert.ok(events.includes(`kubectl drain ${WORKER.nodeName}`));
    assert.ok(!events.some((event) => event.includes(OTHER.nodeName)));
  });

  it('forgets requests finished long ago, keeps recent ones', async () => {
    const old = request(WORKER, {
      state: 'done',
      finishedAt: new Date(Date.now() - FORGET_AFTER_MS - 1000).toISOString(),
    });
    const recent = request(OTHER, { state: 'refused', finishedAt: new Date().toISOString() });
    const { events, result } = await run({ requests: [old, recent], facts: [], lifecycleStates: {} });
    assert.deepEqual(events, ['remove i-worker']);
    assert.equal(result?.forgotten, 1);
  });

  it('a worker cannot run it', async () => {
    const { error, events } = await run({
      role: 'worker',
      requests: [request(WORKER)],
      facts: [],
      lifecycleStates: {},
    });
    assert.ok(error instanceof IncompatibleError);
    assert.deepEqual(events, []);
  });

  it('without admin.conf (not joined yet): ends at once, nothing read', async () => {
    const { result, events } = await run({
      adminConf: false,
      requests: [request(WORKER)],
      facts: [],
      lifecycleStates: {},
    });
    assert.match(result?.summary ?? '', /has not joined yet/);
    assert.deepEqual(events, []);
  });

  it('--dry-run: plans the drain of each pending request and changes nothing', async () => {
    const { events, planned, result, byId } = await run({
      dryRun: true,
      requests: [request(WORKER)],
      facts: [fact(WORKER)],
      lifecycleStates: { [WORKER.instanceId]: 'Terminating:Wait' },
    });
    assert.deepEqual(events, []);
    assert.ok(
      planned.some((line) => line.includes(`i-worker (${WORKER.nodeName})`)),
      planned.join('\n'),
    );
    assert.equal(byId.get(WORKER.instanceId)?.state, undefined);
    assert.equal(result?.outcome, 'planned');
  });
});

describe('verifyLeaveRequest', () => {
  const terminating: RequestFacts = {
    lifecycleState: 'Terminating:Wait',
    instance: {
      state: 'running',
      privateDnsName: WORKER.nodeName,
      privateIp: WORKER.privateIp,
      cluster: 'prod',
    },
  };
  const cases: [string, RequestFacts, RegExp | undefined][] = [
    ['terminating, names and IP match', terminating, undefined],
    ['unknown to EC2', { ...terminating, instance: undefined }, /EC2 does not know instance i-worker/],
    [
      "another cluster's instance",
      { ...terminating, instance: { ...terminating.instance!, cluster: 'staging' } },
      /not tagged for cluster prod \(tag says staging\)/,
    ],
    ['in service', { ...terminating, lifecycleState: 'InService' }, /InService in Auto Scaling/],
    ['terminating without the hook', { ...terminating, lifecycleState: 'Terminating:Proceed' }, undefined],
    [
      'a warm pool instance terminating',
      { ...terminating, lifecycleState: 'Warmed:Terminating:Wait' },
      undefined,
    ],
    ['a standby instance', { ...terminating, lifecycleState: 'Standby' }, /Standby in Auto Scaling/],
    [
      'no group, running',
      { ...terminating, lifecycleState: undefined },
      /in no Auto Scaling group and EC2 says it is running/,
    ],
    [
      'stopping outside Auto Scaling',
      { lifecycleState: undefined, instance: { ...terminating.instance!, state: 'stopping' } },
      /it is stopping/,
    ],
  ];
  for (const [name, facts, refusal] of cases) {
    it(name, () => {
      const why = verifyLeaveRequest('prod', request(WORKER), facts);
      if (refusal === undefined) assert.equal(why, undefined);
      else assert.match(why ?? '', refusal);
    });
  }
});
