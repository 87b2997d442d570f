/**
 * bootstrap-master's decisions over fake ports (fake-deps.ts): the record a first master writes
 * (config, defaults, the discovered API endpoint) or refuses to make up; ending to join when
 * another master wrote an initialized record first, or initialized the cluster while this one
 * waited for the bootstrap lease; waiting for a live holder of the lease until the deadline.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterTimeoutError,
  ConfigError,
  ExitCode,
  StateConflictError,
} from '../../../../src/core/errors.js';
import { bootstrapMasterFlow } from '../../../../src/domain/flows/bootstrap-master.js';
import type { FlowDeps } from '../../../../src/domain/flows/deps.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { captureLogger, WARN } from '../state/capture-logger.js';
import { sampleRecord } from '../state/records.js';
import { BootWorld, CLUSTER, iso, MINUTE, START_MS, stepOutcomes } from './fake-deps.js';

const LB = 'kboot-prod-api-0123.elb.eu-west-1.amazonaws.com';

function run(w: BootWorld, deps: Partial<FlowDeps> = {}) {
  return w.clock.run(runFlow(bootstrapMasterFlow, { ...w.deps(), ...deps }, w.settings(false)));
}

describe('bootstrap-master: the record a first master writes', () => {
  it('from the defaults, the local kubeadm and the discovered load balancer, logging the discovery', async () => {
    const w = new BootWorld();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const asked: string[] = [];
    const done = await run(w, {
      logger,
      discoverApiEndpoint: async (cluster) => {
        asked.push(cluster);
        return LB;
      },
    });
    assert.equal(done.result.outcome, 'initialized');
    assert.deepEqual(asked, [CLUSTER]);
    const record = w.record;
    assert.equal(record?.apiEndpoint, LB);
    assert.equal(record?.podCidr, '10.244.0.0/16');
    assert.equal(record?.serviceCidr, '10.96.0.0/12');
    assert.equal(record?.kubernetesVersion, 'v1.31.2');
    assert.equal(record?.region, 'eu-west-1');
    assert.equal(record?.createdBy, 'i-self');
    assert.equal(record?.createdAt, iso(START_MS));
    assert.equal(record?.externalDns, undefined);
    const discovered = lines.find(
      (l) => l.msg === 'discovered the API endpoint: the load balancer tagged for the cluster',
    );
    assert.equal(discovered?.apiEndpoint, LB);
    const wrote = lines.find((l) => l.msg === 'wrote the cluster record');
    assert.deepEqual([wrote?.cluster, wrote?.apiEndpoint, wrote?.table], [CLUSTER, LB, 'kboot']);

    // The journal of a clean init: each step it ran says, under the flow's name, what it does;
    // nothing is worth a warning.
    const ran = lines.filter((l) => l.phase === 'run');
    assert.deepEqual(
      ran.map((l) => l.step),
      done.timings.filter((t) => t.outcome !== 'skipped').map((t) => t.step),
    );
    for (const line of ran) {
      assert.equal(line.flow, 'bootstrap-master', String(line.step));
      assert.ok(line.msg.length > 10, `step ${String(line.step)} says what it does`);
    }
    assert.deepEqual(
      lines.filter((l) => l.level >= WARN).map((l) => l.msg),
      [],
    );
  });

  it('from the node config when it says, asking no discovery and logging none', async () => {
    const w = new BootWorld();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    w.config = {
      apiEndpoint: 'api.prod.example.com:8443',
      podCidr: '10.100.0.0/16',
      serviceCidr: '10.200.0.0/16',
      kubernetesVersion: '1.31.0',
      externalDns: 'prod.example.com',
    };
    await run(w);
    const record = w.record;
    assert.equal(record?.apiEndpoint, 'api.prod.example.com:8443');
    assert.equal(record?.podCidr, '10.100.0.0/16');
    assert.equal(record?.serviceCidr, '10.200.0.0/16');
    assert.equal(record?.kubernetesVersion, '1.31.0');
    assert.equal(record?.externalDns, 'prod.example.com');
    assert.ok(!lines.some((l) => l.msg.startsWith('discovered the API endpoint')));
  });

  it('refuses to make up an API endpoint: a config error naming the cluster and the three ways out, nothing written', async () => {
    const w = new BootWorld();
    let stopped: FlowStopped | undefined;
    try {
      await run(w, { discoverApiEndpoint: async () => undefined });
    } catch (error) {
      if (!(error instanceof FlowStopped)) throw error;
      stopped = error;
    }
    assert.equal(stopped?.failure.step, 'cluster-record');
    const error = stopped?.failure.error;
    assert.ok(error instanceof ConfigError);
    assert.equal(error.exitCode, ExitCode.usage);
    assert.equal(
      error.message,
      `cluster "${CLUSTER}" has no record yet, and no API endpoint is configured or discoverable`,
    );
    assert.match(error.hint ?? '', /kboot cluster create/);
    assert.match(error.hint ?? '', new RegExp(`kubernetes.io/cluster/${CLUSTER}=owned`));
    assert.match(error.hint ?? '', /apiEndpoint in \/etc\/kboot\/config\.yaml/);
    assert.equal(w.record, undefined);
    assert.deepEqual(w.events, ['kubeadm:version']);
  });
});

describe('bootstrap-master: a record kboot cluster create wrote', () => {
  it('is used as it is: not written again, its settings given to kubeadm init', async () => {
    const w = new BootWorld();
    w.record = sampleRecord({ podCidr: '10.60.0.0/16' });
    const done = await run(w);
    assert.equal(done.result.outcome, 'initialized');
    const skipped = done.timings.find((t) => t.step === 'write-cluster-record');
    assert.deepEqual([skipped?.outcome, skipped?.detail], ['skipped', 'the cluster has a record']);
    assert.ok(!w.events.includes('put-record'));
    const init = w.kubeadmCalls.find((call) => call.args[0] === 'init');
    assert.match(init?.config?.text ?? '', /podSubnet: 10\.60\.0\.0\/16/);
    assert.equal(w.record?.initialized?.by, 'i-self');
  });
});

describe('bootstrap-master: another master first', () => {
  it('wrote a record with other settings: warns with the differences and uses its record', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const theirs = sampleRecord({ podCidr: '10.50.0.0/16' });
    const records = w.records.bind(w);
    w.records = () => ({
      ...records(),
      putRecordIfAbsent: async () => {
        w.record = structuredClone(theirs);
        return { created: false, record: theirs, differences: ['podCidr'] };
      },
    });
    const done = await run(w);
    assert.equal(done.result.outcome, 'initialized');
    const warn = lines.find(
      (l) => l.level === WARN && l.msg.startsWith('another master wrote the cluster record'),
    );
    assert.deepEqual(warn?.differences, ['podCidr']);
    assert.ok(!lines.some((l) => l.msg === 'wrote the cluster record'));
    const init = w.kubeadmCalls.find((call) => call.args[0] === 'init');
    assert.match(init?.config?.text ?? '', /podSubnet: 10\.50\.0\.0\/16/, 'init uses their record');
  });

  it('wrote a record and initialized the cluster: ends as already initialized, before any lease', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const records = w.records.bind(w);
    const theirs = sampleRecord({ initialized: { by: 'i-other', at: iso(START_MS), fence: 1 } });
    w.records = () => ({
      ...records(),
      putRecordIfAbsent: async () => ({ created: false, record: theirs, differences: [] }),
    });
    const done = await run(w, { logger });
    assert.equal(done.result.outcome, 'already-initialized');
    assert.equal(done.result.summary, `cluster ${CLUSTER} is already initialized`);
    assert.equal(stepOutcomes(done).at(-1), 'write-cluster-record:ended');
    assert.deepEqual(w.lock('bootstrap').calls, []);
    const said = lines.find((l) => l.msg === 'the cluster is already initialized');
    assert.deepEqual([said?.by, said?.at], ['i-other', iso(START_MS)], 'who initialized it, and when');
    assert.deepEqual(
      lines.filter((l) => l.level >= WARN).map((l) => l.msg),
      [],
      'the same settings: nothing to warn about',
    );
  });

  it('initialized the cluster while this one waited for the bootstrap lease: ends without kubeadm init', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    // The other master holds the lease, then dies; this one takes over after the lease runs
    // out, and reads the record again under it.
    w.lock('bootstrap').record = {
      owner: 'i-other',
      fence: 1,
      expiresAtMs: START_MS + 3 * MINUTE,
      rvn: 'r1',
    };
    w.onReadRecord = (reads) => {
      if (reads === 2 && w.record !== undefined) {
        w.record = { ...w.record, initialized: { by: 'i-other', at: iso(START_MS), fence: 1 } };
      }
    };
    const done = await run(w, { logger });
    assert.equal(done.result.outcome, 'already-initialized');
    assert.equal(stepOutcomes(done).at(-1), 'recheck-initialized:ended');
    assert.ok(w.clock.nowMs() >= START_MS + 3 * MINUTE, 'it waited for the lease to run out');
    assert.ok(!w.events.includes('kubeadm:init'));
    assert.ok(
      lines.some(
        (l) => l.msg === 'another master initialized the cluster while this one waited for the lease',
      ),
    );
    assert.equal(w.lock('bootstrap').record?.owner, undefined, 'the lease is released');
  });
});

describe('bootstrap-master: the record deleted while it waited for the lease', () => {
  it('stops before kubeadm init (exit 8), publishing nothing', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    w.onReadRecord = (reads) => {
      if (reads === 2) w.record = undefined;
    };
    let stopped: FlowStopped | undefined;
    try {
      await run(w);
    } catch (error) {
      if (!(error instanceof FlowStopped)) throw error;
      stopped = error;
    }
    assert.equal(stopped?.failure.step, 'recheck-initialized');
    const error = stopped?.failure.error;
    assert.ok(error instanceof StateConflictError);
    assert.equal(error.exitCode, ExitCode.stateConflict);
    assert.equal(
      error.message,
      `the record of cluster "${CLUSTER}" was deleted while this master waited for the bootstrap lease`,
    );
    assert.match(error.hint ?? '', new RegExp(`kboot status --cluster ${CLUSTER}`));
    assert.deepEqual(w.commands(), ['version']);
    assert.ok(!w.events.includes('publish'));
    assert.equal(w.lock('bootstrap').record?.owner, undefined, 'the lease is released');
  });
});

describe('bootstrap-master: the bootstrap lease', () => {
  it('waits for a live holder until the wait deadline (2 min here), then times out naming the holder (exit 6)', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const lock = w.lock('bootstrap');
    lock.record = { owner: 'i-other', fence: 4, expiresAtMs: START_MS + 3 * MINUTE, rvn: 'r1' };
    lock.holderRenews = true;
    const settings = { ...w.deps().settings, waitTimeoutMs: 2 * MINUTE, pollMs: 2000 };
    let stopped: FlowStopped | undefined;
    try {
      await run(w, { settings });
    } catch (error) {
      if (!(error instanceof FlowStopped)) throw error;
      stopped = error;
    }
    assert.equal(stopped?.failure.step, 'bootstrap-lease');
    const error = stopped?.failure.error;
    assert.ok(error instanceof ClusterTimeoutError);
    assert.equal(error.exitCode, ExitCode.clusterTimeout);
    assert.match(error.message, /i-other/);
    assert.ok(w.clock.nowMs() >= START_MS + 2 * MINUTE, 'it waited the whole 2 minutes');
    assert.ok(w.clock.nowMs() < START_MS + 3 * MINUTE, 'and no longer');
    assert.ok(lock.calls.filter((call) => call === 'tryAcquire').length > 1, 'it tried more than once');
    assert.ok(!w.events.includes('kubeadm:init'));
  });

  it('logs the fence it holds, and writes the member record under that fence', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    w.lock('bootstrap').record = { fence: 6 };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    await run(w, { logger });
    const holding = lines.find((l) => l.msg === 'holding the bootstrap lease; initializing the cluster');
    assert.equal(holding?.fence, 7);
    assert.equal(w.record?.initialized?.fence, 7);
    assert.equal(w.members[0]?.fence, 7);
  });
});

describe('bootstrap-master: the dry-run plan of its decisions', () => {
  it('says which record it writes and when, which lease it takes, and what it checks under it', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const plan = await w.run(bootstrapMasterFlow, true);
    const said = new Map(plan.planned.map((step) => [step.step, step.description]));
    assert.equal(
      said.get('write-cluster-record'),
      `write the record of cluster ${CLUSTER} (only if no other master wrote one first)`,
    );
    assert.equal(said.get('bootstrap-lease'), `take the bootstrap lease of cluster ${CLUSTER}`);
    assert.equal(
      said.get('recheck-initialized'),
      'check again, under the lease, that no other master initialized the cluster meanwhile',
    );
    assert.deepEqual(w.lock('bootstrap').calls, [], 'a plan takes no lease');
    assert.equal(w.record, undefined, 'and writes no record');
  });
});
