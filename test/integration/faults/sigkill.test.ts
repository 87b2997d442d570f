/**
 * SIGKILL (the instance dies: kboot and its kubeadm at once) at each step of the first master's
 * boot that changes something, and during a worker's join. Nothing can clean up: the lease is
 * left to expire, a secret file may stay (0600). Another master then takes the lease over and
 * initializes the cluster — exactly one init — and the killed instance, booted again, recovers
 * (resets its partial init or join, joins) and leaves no secret file behind.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { filesUnder, liveInits, mode, readItem, secretFilesLeft, stopAtStep, why } from './harness.js';

const SLOW = '60000';
const leaseConfig = (lease: string) =>
  `apiEndpoint: api.example.com\ntimeouts: { lease: ${lease}, waitForInit: 120s }\n`;

/**
 * `initDone`: kubeadm init had finished on the killed instance, which holds the simulated cluster's
 * only control plane (its etcd, on its disk). The fake kubeadm, like a second cluster behind one
 * API endpoint would, refuses a second init then: the killed instance, booted again, takes its own
 * lease back at once (same owner), resets its partial init and initializes; the other master joins.
 */
const STEPS: {
  step: string;
  env?: Record<string, string>;
  child?: string;
  initDone?: boolean;
  todo?: string;
}[] = [
  { step: 'recheck-initialized' },
  { step: 'write-init-config' },
  { step: 'kubeadm-init', env: { FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}` }, child: 'init --config' },
  { step: 'publish-join-material', initDone: true },
  { step: 'member-record', initDone: true },
];

describe('SIGKILL at each step', { concurrency: 3 }, () => {
  let moto: Moto;
  const sims: SimCluster[] = [];
  const proxies: FaultProxy[] = [];
  const takeovers: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all([...sims.map((s) => s.stop()), ...proxies.map((p) => p.stop())]);
    await moto.stop();
    const rows = Object.entries(takeovers).map(([what, ms]) => `${what} ${ms} ms`);
    process.stdout.write(`# kill → lease taken over: ${rows.join(', ')}\n`);
  });

  async function killAt(name: string, lease: string, { step, env, child }: (typeof STEPS)[number]) {
    const sim = new SimCluster(moto, { name, nodeConfig: leaseConfig(lease) });
    sims.push(sim);
    await sim.createTable();
    const proxy = await startFaultProxy(moto.endpoint);
    proxies.push(proxy);
    const doomed = await sim.addInstance('control-plane');
    const successor = await sim.addInstance('control-plane');
    const startedDir = path.join(sim.dir, 'started');
    const killed = await stopAtStep(sim, doomed, {
      at: { flow: 'bootstrap-master', step },
      act: 'SIGKILL',
      env: { ...env, FAKE_KUBEADM_STARTED_DIR: startedDir },
      proxy,
      ...(child === undefined ? {} : { child: { startedDir, command: child } }),
    });
    assert.ok(killed.acted, why(killed.result));
    assert.equal(killed.result.signal, 'SIGKILL', why(killed.result));
    const killedAtMs = Date.now();
    return { sim, doomed, successor, killedAtMs };
  }

  for (const stepCase of STEPS) {
    it(`at ${stepCase.step}: the lease expires and is taken over, one init; the killed node recovers and keeps no secret`, {
      ...(stepCase.todo === undefined ? {} : { todo: stepCase.todo }),
    }, async () => {
      const name = `kill-${stepCase.step}`;
      const { sim, doomed, successor } = await killAt(name, '15s', stepCase);

      // Left behind: the lease (until it expires), maybe the init config — 0600 only.
      const lock = await readItem(moto, name, 'lock#bootstrap');
      assert.equal(lock?.owner, doomed.instanceId, 'the lease is left to expire');
      for (const file of secretFilesLeft(doomed.root)) {
        assert.equal(mode(path.join(doomed.root, 'var/lib/kboot', file)), 0o600, `${file} is 0600`);
      }
      const committed = stepCase.step === 'member-record';
      if (stepCase.initDone === true && !committed) {
        // The killed instance boots again first: its own lease, its partial init reset, init.
        const again = await sim.run(doomed);
        assert.equal(again.exitCode, 0, why(again));
        assert.equal(JSON.parse(again.stdout).outcome, 'initialized');
        assert.ok(
          sim.invocations().some((i) => i.command === 'reset' && i.env.KBOOT_ROOT === doomed.root),
          'the partial init was reset',
        );
        const next = await sim.run(successor);
        assert.equal(next.exitCode, 0, why(next));
        assert.equal(JSON.parse(next.stdout).outcome, 'joined-control-plane');
      } else {
        // Another master takes the lease once it expires; the killed one, booted again, joins.
        const next = await sim.run(successor);
        assert.equal(next.exitCode, 0, why(next));
        assert.equal(JSON.parse(next.stdout).outcome, committed ? 'joined-control-plane' : 'initialized');
        if (!committed) {
          const initialized = (await readItem(moto, name, 'meta'))?.initialized as {
            by: string;
            fence: number;
          };
          assert.equal(initialized.by, successor.instanceId);
          assert.equal(initialized.fence, 2, 'initialized under the next fence');
        }
        const again = await sim.run(doomed);
        assert.equal(again.exitCode, 0, why(again));
        assert.equal(JSON.parse(again.stdout).outcome, committed ? 'already-member' : 'joined-control-plane');
      }
      assert.equal(liveInits(sim).length, 1, 'exactly one init in the cluster');
      assert.deepEqual(secretFilesLeft(doomed.root), [], 'the rerun removed what the killed run left');
      assert.deepEqual(secretFilesLeft(successor.root), []);
    });
  }

  it('takes over a 30 s lease after its holder died during kubeadm init', { timeout: 120_000 }, async (t) => {
    const stepCase = STEPS.find((s) => s.step === 'kubeadm-init') as (typeof STEPS)[number];
    const { sim, successor, killedAtMs } = await killAt('kill-lease-30s', '30s', stepCase);
    const next = await sim.run(successor, ['boot', '--output', 'json'], { timeoutMs: 110_000 });
    assert.equal(next.exitCode, 0, why(next));
    const acquired = next.logs.find((l) => /^(acquired|took over) the bootstrap lease/.test(String(l.msg)));
    const takeoverMs = Date.parse(String(acquired?.time)) - killedAtMs;
    assert.ok(Number.isFinite(takeoverMs), 'the successor logged when it took the lease');
    takeovers['lease 30s'] = takeoverMs;
    t.diagnostic(`SIGKILL → lease taken over: ${takeoverMs} ms`);
    assert.equal(liveInits(sim).length, 1);
    assert.deepEqual(filesUnder(path.join(successor.root, 'var/lib/kboot/kubeadm')), []);
  });
});
