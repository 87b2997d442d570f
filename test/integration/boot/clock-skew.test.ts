/**
 * Clock skew, against the built binary under libfaketime (Debian package `faketime`): the first
 * master's clock runs 10 min behind, a second master's 10 min ahead. The second one finds the
 * bootstrap lease held; by the holder's recorded expiry (holder's clock + 30 s) it would look
 * long expired to its own clock, yet it never takes the live lease: exactly one kubeadm init, by
 * the first, and the second joins. Leases are decided by the record version number watched on
 * each instance's monotonic clock (docs/architecture.md "Clocks").
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { testDynamo } from '../../support/aws.js';
import { parseLogLines } from '../../support/cli.js';
import { SimCluster } from '../../support/cluster-sim.js';
import { type Moto, startMoto } from '../../support/moto.js';

const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
].find((file) => existsSync(file));
const SKEW_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 30s, waitForInit: 90s }\n';

/** The environment that runs a process (and its children) with its wall clock shifted. */
function skewed(offset: string): Record<string, string> {
  return { LD_PRELOAD: LIBFAKETIME as string, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('clock skew between masters (faketime)', {
  skip: LIBFAKETIME === undefined ? 'libfaketime is not installed (apt-get install faketime)' : false,
}, () => {
  let moto: Moto;
  let sim: SimCluster | undefined;

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await sim?.stop();
    await moto?.stop();
  });

  it('a contender 10 min ahead never takes the live lease of a holder 10 min behind: one kubeadm init', async () => {
    sim = new SimCluster(moto, { name: 'skew', nodeConfig: SKEW_CONFIG });
    await sim.createTable();
    const behind = await sim.addInstance('control-plane', {
      ...skewed('-10m'),
      FAKE_KUBEADM_SLEEP_MS: 'init=5000',
    });
    const ahead = await sim.addInstance('control-plane', skewed('+10m'));
    const first = sim.run(behind);
    // The holder is inside kubeadm init (it holds the bootstrap lease) when the contender starts.
    await waitFor(
      () => existsSync(path.join(behind.root, 'var/lib/kboot/kubeadm/init.yaml')),
      30_000,
      'init to start on the first master',
    );
    const second = await sim.run(ahead);
    const firstResult = await first;
    assert.equal(firstResult.exitCode, 0, firstResult.stderr.slice(-2000));
    assert.equal(second.exitCode, 0, second.stderr.slice(-2000));
    assert.equal(JSON.parse(firstResult.stdout).outcome, 'initialized');
    assert.equal(JSON.parse(second.stdout).outcome, 'joined-control-plane');

    const invocations = sim.invocations();
    const inits = invocations.filter((i) => i.command === 'init');
    assert.equal(inits.length, 1, 'exactly one kubeadm init');
    assert.equal(inits[0]?.env.KBOOT_ROOT, behind.root);

    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: sim.table,
          Key: { pk: { S: 'cluster#skew' }, sk: { S: 'meta' } },
          ConsistentRead: true,
        }),
      );
      const record = unmarshall(out.Item ?? {});
      assert.deepEqual(record.initialized?.by, behind.instanceId);
      assert.equal(record.initialized?.fence, 1, 'initialized under the first lease');
      // The holder's clock really was 10 min behind: it stamped the flag with its own time.
      const stampedAgoMs = Date.now() - Date.parse(record.initialized?.at);
      assert.ok(stampedAgoMs > 9 * 60_000 && stampedAgoMs < 11 * 60_000, `stamped ${stampedAgoMs} ms ago`);
    } finally {
      dynamodb.destroy();
    }
    const tookOver = parseLogLines(second.stderr).filter((line) => /took over the/.test(String(line.msg)));
    assert.deepEqual(tookOver, [], 'the skewed contender took over a lease');
  });
});
