/**
 * DynamoDB and Secrets Manager throttling and 5xx answers (the fault proxy in front of moto) and
 * IMDS failures (the IMDS test server's setFailures), to the built binary: a short burst is
 * retried by the SDK (or kboot's IMDS client) and the boot succeeds; a long outage ends in a clear
 * exit code and message, with nothing left on disk and the lease released.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { type FaultKind, type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { liveInits, readItem, secretFilesLeft, why } from './harness.js';

const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';
const DDB = (op: string) => `DynamoDB_20120810.${op}`;
const SM = (op: string) => `secretsmanager.${op}`;

describe('AWS and IMDS faults', { concurrency: 4 }, () => {
  let moto: Moto;
  const sims: SimCluster[] = [];
  const proxies: FaultProxy[] = [];

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all([...sims.map((s) => s.stop()), ...proxies.map((p) => p.stop())]);
    await moto.stop();
  });

  async function master(name: string): Promise<{ sim: SimCluster; node: SimInstance; proxy: FaultProxy }> {
    const sim = new SimCluster(moto, { name, nodeConfig: NODE_CONFIG });
    sims.push(sim);
    await sim.createTable();
    const proxy = await startFaultProxy(moto.endpoint);
    proxies.push(proxy);
    const node = await sim.addInstance('control-plane', { AWS_ENDPOINT_URL: proxy.endpoint });
    return { sim, node, proxy };
  }

  const bursts: { kind: FaultKind; target: string }[] = [
    { kind: 'throttling', target: DDB('UpdateItem') },
    { kind: 'provisioned-throughput', target: DDB('GetItem') },
    { kind: 'internal', target: DDB('PutItem') },
    { kind: 'unavailable', target: SM('CreateSecret') },
    { kind: 'throttling', target: SM('CreateSecret') },
  ];
  for (const { kind, target } of bursts) {
    it(`a burst of 2 ${kind} answers to ${target} is retried: the first master initializes`, async () => {
      const name = `burst-${kind}-${target.replace(/\W+/g, '-')}`.toLowerCase().slice(0, 60);
      const { sim, node, proxy } = await master(name);
      proxy.inject({ target, kind, count: 2 });
      const result = await sim.run(node);
      assert.equal(result.exitCode, 0, why(result));
      assert.equal(JSON.parse(result.stdout).outcome, 'initialized');
      assert.equal(proxy.counts.injected, 2, 'both faults were answered');
      assert.equal(liveInits(sim).length, 1);
      assert.equal((await readItem(moto, name, 'lock#bootstrap'))?.owner, undefined);
      assert.deepEqual(secretFilesLeft(node.root), []);
    });
  }

  it('DynamoDB throttling that outlasts the retries: exit 5 before anything changed, nothing left', async () => {
    const { sim, node, proxy } = await master('outage-throttled');
    proxy.inject({ target: /^DynamoDB_/, kind: 'throttling', count: Number.POSITIVE_INFINITY });
    const result = await sim.run(node);
    assert.equal(result.exitCode, 5, why(result));
    assert.match(result.error?.msg ?? '', /AWS kept throttling .* after retries/);
    assert.equal(sim.invocations().filter((i) => i.command === 'init').length, 0);
    assert.deepEqual(secretFilesLeft(node.root), []);
  });

  it('Secrets Manager answering 503 at publish: exit 3, the node reset, the lease released, the failure recorded', async () => {
    const name = 'outage-secrets';
    const { sim, node, proxy } = await master(name);
    proxy.inject({
      target: /^secretsmanager\.(CreateSecret|PutSecretValue)$/,
      kind: 'unavailable',
      count: 1e9,
    });
    const result = await sim.run(node);
    assert.equal(result.exitCode, 3, why(result));
    assert.match(result.error?.msg ?? '', /unavailable/i);
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset' && i.exitCode === 0),
      'kubeadm reset ran',
    );
    assert.equal(liveInits(sim).length, 0);
    assert.equal((await readItem(moto, name, 'lock#bootstrap'))?.owner, undefined, 'the lease is released');
    const record = await readItem(moto, name, 'meta');
    assert.equal(record?.initialized, undefined);
    assert.ok((record?.lastFailure as { step: string } | undefined)?.step, 'the failure is recorded');
    assert.deepEqual(secretFilesLeft(node.root), []);
    // The outage ends: the rerun initializes.
    proxy.clear();
    const rerun = await sim.run(node);
    assert.equal(rerun.exitCode, 0, why(rerun));
    assert.equal(liveInits(sim).length, 1);
  });

  it('IMDS answering 503 a few times is retried; IMDS down for good is exit 3 naming IMDS', async () => {
    const { sim, node } = await master('imds');
    node.imds.setFailures({ status: 503, count: 3 });
    const result = await sim.run(node);
    assert.equal(result.exitCode, 0, why(result));
    assert.ok(node.imds.counts.injectedFailures >= 3);

    const sim2 = new SimCluster(moto, { name: 'imds-down', nodeConfig: NODE_CONFIG });
    sims.push(sim2);
    await sim2.createTable();
    const down = await sim2.addInstance('worker');
    down.imds.setFailures({ status: 500, count: 1e9 });
    const failed = await sim2.run(down);
    assert.equal(failed.exitCode, 3, why(failed));
    assert.match(failed.error?.msg ?? '', /IMDS|instance metadata/i);
    assert.deepEqual(secretFilesLeft(down.root), []);
  });
});
