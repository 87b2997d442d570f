/**
 * SIGTERM at every step of a worker's join (join-node) and of a control-plane member's join
 * (join-master, as `kboot boot` runs it after bootstrap-master finds the cluster initialized), to
 * the built binary on one initialized cluster: kboot stops its kubeadm, resets the node once the
 * join has started, removes the join config, releases the control-plane join lease and exits 130
 * within the unit's TimeoutStopSec; a rerun joins.
 */

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import {
  BOOT_TIMEOUT_STOP_MS,
  filesContaining,
  kubeadmsRunning,
  liveInits,
  readItem,
  secretFilesLeft,
  stopAtStep,
  why,
} from './harness.js';

const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';
const SLOW = '60000';

interface StepCase {
  step: string;
  env?: Record<string, string>;
  /** The kubeadm command the step waits on (signalled once it runs), and how its argv starts. */
  child?: string;
  argv?: string;
  partial?: boolean;
  /** Its undo resets the node (kubeadm reset). */
  resets?: boolean;
}

const WORKER_STEPS: StepCase[] = [
  { step: 'identity' },
  { step: 'leftover-configs' },
  { step: 'membership' },
  { step: 'cluster-state' },
  { step: 'version-skew' },
  { step: 'node-name' },
  { step: 'write-join-config' },
  {
    step: 'reset-partial-join',
    env: { FAKE_KUBEADM_SLEEP_MS: `reset=${SLOW}` },
    child: 'reset',
    partial: true,
  },
  {
    step: 'kubeadm-join',
    env: { FAKE_KUBEADM_SLEEP_MS: `join=${SLOW}` },
    child: 'join',
    argv: 'join --config',
    resets: true,
  },
  { step: 'membership-file' },
];

const MASTER_STEPS: StepCase[] = [
  { step: 'identity' },
  { step: 'leftover-configs' },
  { step: 'membership' },
  { step: 'wait-initialized' },
  { step: 'kubeadm-version' },
  { step: 'node-name' },
  { step: 'control-plane-join-lease' },
  { step: 'join-material' },
  { step: 'write-join-config' },
  {
    step: 'reset-partial-join',
    env: { FAKE_KUBEADM_SLEEP_MS: `reset=${SLOW}` },
    child: 'reset',
    partial: true,
  },
  { step: 'cleanup-lost-members', resets: true },
  { step: 'hardening-files', resets: true },
  {
    step: 'kubeadm-join',
    env: { FAKE_KUBEADM_SLEEP_MS: `join=${SLOW}` },
    child: 'join',
    argv: 'join --config',
    resets: true,
  },
  { step: 'membership-file', resets: true },
  { step: 'member-record', resets: true },
];

/** kubelet.conf with no membership file: an earlier join that never finished. */
function leavePartialJoin(root: string): void {
  mkdirSync(path.join(root, 'etc/kubernetes'), { recursive: true });
  writeFileSync(path.join(root, 'etc/kubernetes/kubelet.conf'), 'apiVersion: v1\nkind: Config\n');
}

describe('SIGTERM at each step of join-node and join-master', { concurrency: 3 }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let token = '';
  const workers = new Map<string, SimInstance>();
  const masters = new Map<string, SimInstance>();
  const proxies: FaultProxy[] = [];
  const times: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, { name: 'term-join', nodeConfig: NODE_CONFIG });
    await sim.createTable();
    const first = await sim.addInstance('control-plane');
    const result = await sim.run(first);
    assert.equal(result.exitCode, 0, why(result));
    const init = sim.invocations().find((i) => i.command === 'init');
    token = /token: "?([a-z0-9]{6}\.[a-z0-9]{16})/.exec(init?.config?.text ?? '')?.[1] ?? '';
    assert.notEqual(token, '');
    // One instance per case, added one at a time (each takes the next address).
    for (const { step } of WORKER_STEPS) workers.set(step, await sim.addInstance('worker'));
    for (const { step } of MASTER_STEPS) masters.set(step, await sim.addInstance('control-plane'));
  });
  after(async () => {
    await Promise.all([sim.stop(), ...proxies.map((p) => p.stop())]);
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (joins): ${rows.join(', ')}\n`);
  });

  async function stopJoin(
    instance: SimInstance,
    flow: 'join-node' | 'join-master',
    { step, env, child, argv, partial }: StepCase,
  ) {
    if (partial === true) leavePartialJoin(instance.root);
    const proxy = await startFaultProxy(moto.endpoint);
    proxies.push(proxy);
    const startedDir = path.join(instance.root, '..', `${instance.name}-started`);
    const stopped = await stopAtStep(sim, instance, {
      at: { flow, step },
      act: 'SIGTERM',
      env: { ...env, FAKE_KUBEADM_STARTED_DIR: startedDir },
      proxy,
      ...(child === undefined ? {} : { child: { startedDir, command: argv ?? child } }),
    });
    const { result } = stopped;
    assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
    // The last step, a few ms of local work, may finish before the signal lands: the flow is done.
    const steps = flow === 'join-node' ? WORKER_STEPS : MASTER_STEPS;
    const finished = result.exitCode === 0 && step === steps.at(-1)?.step && child === undefined;
    if (!finished) assert.equal(result.exitCode, 130, why(result));
    if (!finished) assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
    assert.ok((stopped.actToExitMs as number) < BOOT_TIMEOUT_STOP_MS);
    times[`${flow} ${step}`] = stopped.actToExitMs as number;
    assert.deepEqual(kubeadmsRunning(startedDir), [], 'no kubeadm left running');
    const mine = sim.invocations().filter((i) => i.env.KBOOT_ROOT === instance.root);
    if (child !== undefined) {
      assert.equal(
        mine.find((i) => i.argv.join(' ').startsWith(argv ?? child))?.signal,
        'SIGTERM',
        `kubeadm ${child} got SIGTERM: ${JSON.stringify(mine.map((i) => [i.argv.slice(0, 3), i.signal, i.exitCode]))}`,
      );
    }
    assert.deepEqual(secretFilesLeft(instance.root), [], 'no join config or temp file left');
    assert.deepEqual(filesContaining(instance.root, token), [], 'no file holds the bootstrap token');
    return { stopped, mine, finished };
  }

  for (const stepCase of WORKER_STEPS) {
    it(`worker, at ${stepCase.step}: exit 130, node reset once the join started, nothing left; a rerun joins`, async (t) => {
      const worker = workers.get(stepCase.step) as SimInstance;
      const { stopped, mine, finished } = await stopJoin(worker, 'join-node', stepCase);
      t.diagnostic(
        `SIGTERM → exit: ${stopped.actToExitMs} ms${finished ? ' (the join finished first)' : ''}`,
      );
      if (finished) return;
      const at = stopped.stoppedAt?.step ?? stepCase.step;
      const resets = mine.filter((i) => i.command === 'reset' && i.exitCode === 0);
      if (stepCase.resets === true) assert.equal(at, stepCase.step);
      if (at === 'kubeadm-join' || at === 'membership-file')
        assert.equal(resets.length, 1, 'kubeadm reset ran');
      else if (stepCase.partial !== true) assert.equal(resets.length, 0, 'nothing to reset');

      const rerun = await sim.run(worker);
      assert.equal(rerun.exitCode, 0, why(rerun));
      assert.equal(JSON.parse(rerun.stdout).outcome, 'joined-worker');
      assert.deepEqual(secretFilesLeft(worker.root), []);
    });
  }

  for (const stepCase of MASTER_STEPS) {
    it(`control plane, at join-master ${stepCase.step}: exit 130, reset, lease released, nothing left; a rerun joins`, async (t) => {
      const master = masters.get(stepCase.step) as SimInstance;
      const { stopped, mine } = await stopJoin(master, 'join-master', stepCase);
      assert.equal(stopped.result.exitCode, 130, 'member-record waits on DynamoDB: always stopped');
      t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms`);
      const at = stopped.stoppedAt?.step ?? stepCase.step;
      const resets = mine.filter((i) => i.command === 'reset' && i.exitCode === 0);
      const resetting = MASTER_STEPS.find((s) => s.step === at)?.resets === true;
      if (resetting) assert.equal(resets.length, 1, `kubeadm reset ran (stopped at ${at})`);
      else if (stepCase.partial !== true)
        assert.equal(resets.length, 0, `nothing to reset (stopped at ${at})`);
      const lock = await readItem(moto, 'term-join', 'lock#control-plane-join');
      assert.notEqual(
        lock?.owner,
        master.instanceId,
        'the control-plane join lease is not held by the stopped master',
      );
      assert.equal(liveInits(sim).length, 1, 'still one init');
      // A rerun where the node changed (the others' reruns cover the steps before).
      if (
        MASTER_STEPS.findIndex((s) => s.step === at) <
        MASTER_STEPS.findIndex((s) => s.step === 'write-join-config')
      )
        return;

      const rerun = await sim.run(master);
      assert.equal(rerun.exitCode, 0, why(rerun));
      assert.equal(JSON.parse(rerun.stdout).outcome, 'joined-control-plane');
      assert.deepEqual(secretFilesLeft(master.root), []);
    });
  }
});
