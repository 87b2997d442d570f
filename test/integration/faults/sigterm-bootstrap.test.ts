/**
 * SIGTERM (systemd stopping kboot-boot.service) at every step of the first master's boot
 * (bootstrap-master), to the built binary: kboot stops its child, undoes what it did (kubeadm
 * reset once init has started), removes the init config, releases the bootstrap lease, records the
 * step in lastFailure, exits 130 within the unit's TimeoutStopSec — and a rerun initializes the
 * cluster, once.
 */

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import {
  BOOT_TIMEOUT_STOP_MS,
  filesContaining,
  initSecrets,
  isRunning,
  kubeadmsRunning,
  liveInits,
  readItem,
  secretFilesLeft,
  stopAtStep,
  why,
} from './harness.js';

const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';
const SLOW = '60000';
/** Slow kubectl for the addons only: not the removal of kubeadm's auto-approval before them. */
const ADDONS_ONLY = '^(?!.*clusterrolebinding)';

/** The steps of bootstrap-master in order, and what makes each one last until the signal. */
const STEPS: {
  step: string;
  env?: Record<string, string>;
  setup?: (root: string) => void;
  /** Skipped in this configuration (IRSA is not set up): listed for the order only. */
  skipped?: boolean;
}[] = [
  { step: 'identity' },
  { step: 'leftover-configs' },
  { step: 'membership' },
  { step: 'kubeadm-version', env: { FAKE_KUBEADM_SLEEP_MS: `version=${SLOW}` } },
  { step: 'cluster-record' },
  { step: 'write-cluster-record' },
  { step: 'version-skew' },
  { step: 'init-inputs' },
  { step: 'bootstrap-lease' },
  { step: 'recheck-initialized' },
  { step: 'write-init-config' },
  {
    step: 'reset-partial-init',
    env: { FAKE_KUBEADM_SLEEP_MS: `reset=${SLOW}` },
    // The remains of an earlier init that never finished: kubelet.conf, no membership file.
    setup: (root) => {
      mkdirSync(path.join(root, 'etc/kubernetes'), { recursive: true });
      writeFileSync(path.join(root, 'etc/kubernetes/kubelet.conf'), 'apiVersion: v1\nkind: Config\n');
    },
  },
  // A few ms of local writes: the signal may land in kubeadm init, which is still running then.
  { step: 'hardening-files', env: { FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}` } },
  { step: 'kubeadm-init', env: { FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}` } },
  {
    step: 'node-client-auto-approval-off',
    env: { FAKE_KUBECTL_SLEEP_MS: SLOW, FAKE_KUBECTL_SLEEP_ON: 'clusterrolebinding' },
  },
  { step: 'ca-cert-hash' },
  { step: 'pki-secret' },
  { step: 'irsa', skipped: true },
  {
    step: 'addons',
    env: { FAKE_KUBECTL_SLEEP_MS: SLOW, FAKE_KUBECTL_SLEEP_ON: ADDONS_ONLY },
    setup: (root) => {
      mkdirSync(path.join(root, 'etc/kboot/addons.d'), { recursive: true });
      writeFileSync(
        path.join(root, 'etc/kboot/addons.d/10-team.yaml'),
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n',
      );
    },
  },
  { step: 'membership-file' },
  { step: 'publish-join-material' },
  { step: 'member-record' },
];
const ORDER = STEPS.map(({ step }) => step);
/** Steps that wait (kubeadm, kubectl, AWS through the proxy): the signal lands inside them. */
/** Steps whose child is kubeadm: the signal is sent once it runs. */
const KUBEADM_CHILD: Record<string, string> = {
  'kubeadm-version': 'version',
  'reset-partial-init': 'reset',
  'kubeadm-init': 'init --config',
};
const WAITS = new Set([
  'kubeadm-version',
  'cluster-record',
  'write-cluster-record',
  'bootstrap-lease',
  'recheck-initialized',
  'reset-partial-init',
  'kubeadm-init',
  'node-client-auto-approval-off',
  'pki-secret',
  'addons',
  'publish-join-material',
  'member-record',
]);

describe('SIGTERM at each step of bootstrap-master', { concurrency: 4 }, () => {
  let moto: Moto;
  const sims: SimCluster[] = [];
  const proxies: FaultProxy[] = [];
  const times: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all([...sims.map((s) => s.stop()), ...proxies.map((p) => p.stop())]);
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (bootstrap-master): ${rows.join(', ')}\n`);
  });

  for (const [index, { step, env, setup, skipped }] of STEPS.entries()) {
    if (skipped === true) continue;
    it(`at ${step}: child stopped, undone, lease released, failure recorded, exit 130; a rerun initializes once`, async (t) => {
      const name = `term-${step}`;
      const sim = new SimCluster(moto, { name, nodeConfig: NODE_CONFIG });
      sims.push(sim);
      await sim.createTable();
      const proxy = await startFaultProxy(moto.endpoint);
      proxies.push(proxy);
      const master = await sim.addInstance('control-plane');
      setup?.(master.root);

      const childStartedDir = path.join(sim.dir, 'started');
      const child = KUBEADM_CHILD[step];
      const stopped = await stopAtStep(sim, master, {
        at: { flow: 'bootstrap-master', step },
        act: 'SIGTERM',
        env: { ...env, FAKE_KUBEADM_STARTED_DIR: childStartedDir },
        proxy,
        ...(child === undefined ? {} : { child: { startedDir: childStartedDir, command: child } }),
      });
      const { result } = stopped;
      assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
      assert.equal(result.exitCode, 130, why(result));
      assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
      assert.ok((stopped.actToExitMs as number) < BOOT_TIMEOUT_STOP_MS);
      times[step] = stopped.actToExitMs as number;
      t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms`);

      // Where it stopped: at the step itself when the step waits, else there or after it, at the
      // latest in the next step that waits (the quick steps between may all finish first).
      const at = stopped.stoppedAt?.step ?? step;
      if (WAITS.has(step)) assert.equal(at, step, 'stopped inside the step');
      else {
        const stoppedIndex = ORDER.indexOf(at);
        // addons waits only in its own case, the one with an addons.d to apply.
        const waitsHere = (name: string): boolean =>
          WAITS.has(name) && (name !== 'addons' || step === 'addons');
        const nextWait = ORDER.findIndex((name, i) => i > index && waitsHere(name));
        assert.ok(stoppedIndex >= index && stoppedIndex <= nextWait, `stopped at ${at}`);
      }
      const stoppedIndex = ORDER.indexOf(at);

      assert.deepEqual(kubeadmsRunning(childStartedDir), [], 'no kubeadm left running');
      // The child kboot was waiting on got SIGTERM.
      const invocations = sim.invocations();
      if (child !== undefined) {
        const stoppedChild = invocations.find((i) => i.argv.join(' ').startsWith(child));
        assert.equal(stoppedChild?.signal, 'SIGTERM', `kubeadm ${child} was stopped with SIGTERM`);
      }
      // kubeadm reset ran after init started (and before the cluster was marked initialized). A
      // stop between two steps is reported at the next one, which never started: the stop counts
      // as inside init only when kubeadm init ran.
      const initIndex = ORDER.indexOf('kubeadm-init');
      const resets = invocations.filter((i) => i.command === 'reset');
      const initRan = invocations.some((i) => i.command === 'init');
      const initStarted =
        stoppedIndex >= initIndex && stoppedIndex < ORDER.indexOf('member-record') && initRan;
      if (initStarted) assert.equal(resets.at(-1)?.exitCode, 0, 'kubeadm reset ran and succeeded');
      else if (step !== 'reset-partial-init') assert.equal(resets.length, 0, 'nothing to reset');

      const lock = await readItem(moto, name, 'lock#bootstrap');
      assert.equal(lock?.owner, undefined, 'the bootstrap lease is released');
      const record = await readItem(moto, name, 'meta');
      const held = result.logs.some((l) => /^acquired the bootstrap lease/.test(String(l.msg)));
      const failure = record?.lastFailure as { step: string; by: string; message: string } | undefined;
      if (held) {
        // The addons step names the addon it was applying.
        assert.equal(
          failure?.step,
          at === 'addons' ? 'addon addons.d/10-team.yaml' : at,
          'lastFailure names the step',
        );
        assert.equal(failure?.by, master.instanceId);
        assert.match(failure?.message ?? '', /interrupted by SIGTERM/);
      } else assert.equal(failure, undefined, 'nothing recorded before the lease');
      assert.equal(
        record?.initialized !== undefined,
        at === 'member-record',
        'initialized only once committed',
      );

      assert.deepEqual(secretFilesLeft(master.root), [], 'no init config or temp file left');
      for (const secret of initSecrets(sim, master)) {
        assert.deepEqual(filesContaining(master.root, secret), [], 'no file holds the token or key');
      }

      // The rerun on the same node finishes the job, and the cluster has had one init. (Before
      // the lease, nothing changed: the other cases' reruns cover it.)
      if (!held) return;
      const rerun = await sim.run(master, ['boot', '--output', 'json']);
      assert.equal(rerun.exitCode, 0, why(rerun));
      const outcome = JSON.parse(rerun.stdout).outcome;
      assert.equal(outcome, at === 'member-record' ? 'already-member' : 'initialized');
      assert.equal(liveInits(sim).length, 1, 'one init in the cluster, not undone');
      assert.equal((await readItem(moto, name, 'lock#bootstrap'))?.owner, undefined);
      assert.deepEqual(secretFilesLeft(master.root), []);
    });
  }
  it('a kubeadm init that ignores SIGTERM is killed after the grace; the node is still reset and the lease released', async (t) => {
    const name = 'term-stuck-init';
    const sim = new SimCluster(moto, { name, nodeConfig: NODE_CONFIG });
    sims.push(sim);
    await sim.createTable();
    const master = await sim.addInstance('control-plane');
    const childStartedDir = path.join(sim.dir, 'started');
    const stopped = await stopAtStep(sim, master, {
      at: { flow: 'bootstrap-master', step: 'kubeadm-init' },
      act: 'SIGTERM',
      env: {
        FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}`,
        FAKE_KUBEADM_IGNORE_SIGTERM: '1',
        FAKE_KUBEADM_STARTED_DIR: childStartedDir,
      },
      child: { startedDir: childStartedDir, command: 'init --config' },
    });
    const { result } = stopped;
    assert.equal(result.exitCode, 130, why(result));
    assert.ok((stopped.actToExitMs as number) < BOOT_TIMEOUT_STOP_MS);
    times['kubeadm-init (kubeadm ignores SIGTERM)'] = stopped.actToExitMs as number;
    t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms`);
    const init = sim.invocations().find((i) => i.command === 'init');
    assert.equal(init?.signal, 'SIGTERM');
    assert.equal(init?.ignored, true);
    assert.equal(isRunning(init?.pid as number), false, 'the stuck kubeadm init was killed');
    assert.equal(sim.invocations().filter((i) => i.command === 'reset' && i.exitCode === 0).length, 1);
    assert.equal((await readItem(moto, name, 'lock#bootstrap'))?.owner, undefined);
    assert.equal(
      ((await readItem(moto, name, 'meta'))?.lastFailure as { step: string } | undefined)?.step,
      'kubeadm-init',
    );
    assert.deepEqual(secretFilesLeft(master.root), []);
  });
});
