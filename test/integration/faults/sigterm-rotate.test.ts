/**
 * SIGTERM (systemd stopping kboot-rotate.service) at every step of `kboot rotate` on the first
 * master, to the built binary: kboot stops its kubeadm or kubectl, removes the token and
 * upload-certs configs, releases the rotate lease and exits 130 within the unit's TimeoutStopSec
 * (2 min); the next timer run rotates. Each case runs later on the simulated clock, so the token
 * and certificate key are due for renewal every time.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { filesUnder, kubeadmsRunning, readItem, stopAtStep, why } from './harness.js';

/** kboot-rotate.service's TimeoutStopSec (packer/files/kboot-rotate.service). */
const ROTATE_TIMEOUT_STOP_MS = 120_000;
const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';
const SLOW = '60000';
const HOUR = 3_600_000;

const DAY = 24 * HOUR;

/**
 * Every step but delete-expired-tokens, which the simulated cluster never reaches (the fake
 * kubeadm's `token list` leaves out expired tokens, so there is never one to delete), and
 * restore-manifests, which runs only after a kboot killed mid-restart (the unit tests cover it).
 * The certificate cases run at day 340, day 685 and day 1030 of the certificates issued at init
 * (each case before renewed them), so each finds them due; publish-admin-conf's case is stopped
 * after this run renewed them, and the next run republishes the admin.conf that is due.
 */
const STEPS: { step: string; env?: Record<string, string>; child?: string; offsetMs?: number }[] = [
  { step: 'membership' },
  { step: 'cluster-record' },
  {
    step: 'check-certificates',
    env: { FAKE_KUBEADM_SLEEP_MS: `check-expiration=${SLOW}` },
    child: 'certs check-expiration',
  },
  { step: 'record-certificates' },
  { step: 'rotate-lease' },
  { step: 'read-join-material' },
  { step: 'check-admin-conf' },
  { step: 'renew-token', env: { FAKE_KUBEADM_SLEEP_MS: `token=${SLOW}` }, child: 'token create' },
  {
    step: 'renew-certificate-key',
    env: { FAKE_KUBEADM_SLEEP_MS: `upload-certs=${SLOW}` },
    child: 'init phase',
  },
  { step: 'list-expired-tokens' },
  { step: 'plan-cleanup' },
  {
    step: 'renew-certificates',
    env: { FAKE_KUBEADM_SLEEP_MS: `certs-renew=${SLOW}` },
    child: 'certs renew',
    offsetMs: 340 * DAY,
  },
  { step: 'restart-control-plane', env: { KBOOT_STATIC_POD_WAIT_MS: SLOW }, offsetMs: 685 * DAY },
  { step: 'publish-admin-conf', offsetMs: 1030 * DAY },
];
const MANIFESTS = ['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml'];

describe('SIGTERM at each step of rotate', { concurrency: 1 }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let proxy: FaultProxy;
  const times: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, { name: 'term-rotate', nodeConfig: NODE_CONFIG });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const result = await sim.run(master);
    assert.equal(result.exitCode, 0, why(result));
    proxy = await startFaultProxy(moto.endpoint);
  });
  after(async () => {
    await Promise.all([sim.stop(), proxy.stop()]);
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (rotate): ${rows.join(', ')}\n`);
  });

  for (const [index, { step, env, child, offsetMs }] of STEPS.entries()) {
    it(`at ${step}: exit 130, configs removed, manifests in place, rotate lease released; the next run rotates`, async (t) => {
      // 60 h later each time: the last token (24 h) expired, the certificate key (2 h) lapsed.
      const clock = {
        KBOOT_CLOCK_OFFSET_MS: String(offsetMs ?? (index + 1) * 60 * HOUR),
        KBOOT_STATIC_POD_WAIT_MS: '100',
      };
      const startedDir = path.join(sim.dir, `rotate-started-${index}`);
      const stopped = await stopAtStep(sim, master, {
        at: { flow: 'rotate', step },
        act: 'SIGTERM',
        args: ['rotate', '--output', 'json'],
        env: { ...clock, ...env, FAKE_KUBEADM_STARTED_DIR: startedDir },
        proxy,
        ...(child === undefined ? {} : { child: { startedDir, command: child } }),
      });
      const { result } = stopped;
      assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
      assert.equal(result.exitCode, 130, why(result));
      assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
      assert.ok((stopped.actToExitMs as number) < ROTATE_TIMEOUT_STOP_MS);
      times[step] = stopped.actToExitMs as number;
      t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms`);
      assert.deepEqual(kubeadmsRunning(startedDir), [], 'no kubeadm left running');
      if (child !== undefined) {
        const stoppedChild = sim
          .invocations()
          .find(
            (i) =>
              i.argv.join(' ').startsWith(child) &&
              i.env.KBOOT_CLOCK_OFFSET_MS === clock.KBOOT_CLOCK_OFFSET_MS,
          );
        assert.equal(stoppedChild?.signal, 'SIGTERM', `kubeadm ${child} got SIGTERM`);
      }
      assert.deepEqual(filesUnder(path.join(master.root, 'var/lib/kboot/kubeadm')), [], 'no config left');
      assert.deepEqual(
        filesUnder(path.join(master.root, 'etc/kubernetes/manifests')).sort(),
        MANIFESTS,
        'every static Pod manifest in place',
      );
      assert.deepEqual(filesUnder(path.join(master.root, 'var/lib/kboot/parked-manifests')), []);
      if (
        /moved the control-plane static Pod manifests out/.test(result.stderr) &&
        !/restarted this member's control plane/.test(result.stderr)
      ) {
        // Stopped while the kubelet had no manifests: the undo put them back before the exit.
        assert.match(result.stderr, /put parked static Pod manifests back/);
        t.diagnostic('stopped with the manifests out; the undo put them back');
      }
      assert.equal(
        (await readItem(moto, 'term-rotate', 'lock#rotate'))?.owner,
        undefined,
        'rotate lease released',
      );

      const next = await sim.run(master, ['rotate', '--output', 'json'], { env: clock });
      assert.equal(next.exitCode, 0, why(next));
      assert.deepEqual(filesUnder(path.join(master.root, 'var/lib/kboot/kubeadm')), []);
      if (step === 'publish-admin-conf') {
        assert.doesNotMatch(result.stderr, /republished admin\.conf/, 'stopped before publishing');
        assert.match(next.stderr, /republished admin\.conf to kboot\/term-rotate\/admin\.conf/);
      }
    });
  }
});
