/**
 * SIGTERM (kboot-leave-watch.service stopped at shutdown) at every step of `kboot leave` on a
 * master, to the built binary, with a real three-member etcd (the master's and two peers, signed by
 * its etcd CA). The steps are the ones the flow's `--dry-run --output json` lists for a master in
 * an Auto Scaling group with kboot's hook. One master, stopped at each step in turn: each run
 * redoes what the stopped ones left, as kboot-leave.service would. Each stop: exit 130 within the
 * unit's TimeoutStopSec (30 s), the kubectl or kubeadm child stopped, the admin.conf copy kept
 * 0600 (a master keeps it until a leave succeeds, as `kubeadm reset` deletes admin.conf), the
 * lifecycle action left open, no heartbeat after the exit.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import type { FaultProxy } from '../../support/fault-proxy.js';
import { fakeKubectlPath, nodeObject, seedObjects } from '../../support/kubectl-log.js';
import { createLeaveGroup } from '../../support/leave-group.js';
import { type LifecycleStub, startLifecycleStub } from '../../support/lifecycle-stub.js';
import { type Moto, startMoto } from '../../support/moto.js';
import {
  kubeadmsRunning,
  LEAVE_WATCH_TIMEOUT_STOP_MS,
  mode,
  processesWith,
  secretFilesLeft,
  sigtermLeaveAt,
  sleep,
  why,
} from './harness.js';

const GROUP = 'term-leave-masters';
const HOOK = 'kboot-leave';
const SLOW = '60000';
const ADMIN_COPY = 'var/lib/kboot/leave/admin.conf';
const missing = etcdMissing();

/** As in sigterm-leave.test.ts: the knob that keeps a step's child running until the signal. */
const CHILD: Record<string, { env: Record<string, string>; kubeadm?: string }> = {
  drain: { env: { FAKE_KUBECTL_DRAIN_MS: SLOW } },
  'kubeadm-reset': { env: { FAKE_KUBEADM_SLEEP_MS: `reset=${SLOW}` }, kubeadm: 'reset' },
};

describe('SIGTERM at each step of a master leaving', { skip: missing, concurrency: 1 }, async () => {
  if (missing !== undefined) return;
  const moto: Moto = await startMoto();
  const stub: LifecycleStub = await startLifecycleStub(moto.endpoint);
  const sim = new SimCluster(moto, { name: 'term-leave-m' });
  const proxies: FaultProxy[] = [];
  const times: Record<string, number> = {};
  const env: Record<string, string> = {
    KBOOT_KUBECTL: fakeKubectlPath(),
    FAKE_KUBECTL_STATE_DIR: path.join(sim.clusterDir, 'api'),
    AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
  };
  await sim.createTable();
  const master: SimInstance = await sim.addInstance('control-plane', env);
  const booted = await sim.run(master);
  assert.equal(booted.exitCode, 0, why(booted));
  seedObjects(env.FAKE_KUBECTL_STATE_DIR as string, [nodeObject(master.privateDns, { controlPlane: true })]);
  const pki = path.join(master.root, 'etc/kubernetes/pki/etcd');
  const etcd = await EtcdCluster.start([master.privateDns, 'peer-b', 'peer-c'], {
    certPath: path.join(pki, 'ca.crt'),
    keyPath: path.join(pki, 'ca.key'),
  });
  // Its own member only, as on a real master: kboot removes it through the others.
  master.env.KBOOT_ETCD_ENDPOINTS = etcd.node(master.privateDns).clientUrl;
  await createLeaveGroup(moto, GROUP, [master.instanceId]);
  stub.openAction(GROUP, HOOK, master.instanceId);
  const plan = await sim.run(master, ['leave', '--dry-run', '--output', 'json']);
  assert.equal(plan.exitCode, 0, why(plan));
  const timings = (JSON.parse(plan.stdout) as { timings: { step: string; outcome: string }[] }).timings;
  // Every step in order (a stop between two steps may be reported at a skipped one), and the ones
  // a master runs, which the cases stop at.
  const order = timings.map((timing) => timing.step);
  const steps = timings.filter((timing) => timing.outcome !== 'skipped').map((timing) => timing.step);

  before(async () => {
    // etcd refuses to remove a member until its peers have been connected for 5 s.
    await sleep(6_000);
  });
  after(async () => {
    await etcd.stop();
    await Promise.all([sim.stop(), ...proxies.map((proxy) => proxy.stop())]);
    await stub.stop();
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (leave, master): ${rows.join(', ')}\n`);
  });

  it("the dry-run plan lists a master's own steps", () => {
    assert.ok(steps.includes('etcd-member') && steps.includes('member-record'), steps.join(', '));
  });

  for (const [index, step] of steps.entries()) {
    it(`at ${step}: exit 130 (0 once the leave is done), child stopped, admin.conf copy 0600, action left open`, async (t) => {
      const child = CHILD[step];
      const startedDir = path.join(sim.dir, `leave-master-started-${index}`);
      const stopped = await sigtermLeaveAt(sim, master, {
        step,
        child,
        startedDir,
        endpoints: { aws: moto.endpoint, autoScaling: stub.endpoint },
        proxies,
      });
      const { result } = stopped;
      assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
      t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms; stopped at ${stopped.stoppedAt?.step}`);
      assert.ok((stopped.actToExitMs as number) < LEAVE_WATCH_TIMEOUT_STOP_MS);
      times[step] = stopped.actToExitMs as number;
      const copy = path.join(master.root, ADMIN_COPY);
      if (index === steps.length - 1 && result.exitCode === 0) {
        // The last step only reports: a stop as it finishes finds the leave done.
        assert.equal(stopped.stoppedAt, undefined);
        assert.ok(!stub.openActions().includes(master.instanceId), 'the lifecycle action was completed');
        assert.equal(existsSync(copy), false, 'the admin.conf copy is removed once the leave succeeded');
        return;
      }
      assert.equal(result.exitCode, 130, why(result));
      assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
      assert.ok(
        order.indexOf(stopped.stoppedAt?.step ?? '') >= order.indexOf(step),
        `stopped at ${stopped.stoppedAt?.step}`,
      );

      assert.deepEqual(kubeadmsRunning(startedDir), [], 'no kubeadm left running');
      assert.deepEqual(processesWith('kubectl', master.root), [], 'no kubectl left running');
      if (child?.kubeadm !== undefined) {
        const reset = sim
          .invocations()
          .find((i) => i.command === child.kubeadm && i.env.FAKE_KUBEADM_STARTED_DIR === startedDir);
        assert.equal(reset?.signal, 'SIGTERM', `kubeadm ${child.kubeadm} got SIGTERM`);
      }
      // The admin.conf copy outlives a stopped leave (kubeadm reset may have deleted admin.conf),
      // and only as a 0600 file; no other secret-bearing file is left.
      if (existsSync(copy)) assert.equal(mode(copy), 0o600);
      assert.deepEqual(secretFilesLeft(master.root), []);

      assert.ok(stub.openActions().includes(master.instanceId), 'the lifecycle action is still open');
      const beats = (): number =>
        stub.calls.filter((call) => call.action === 'RecordLifecycleActionHeartbeat').length;
      const atExit = beats();
      await sleep(1_500);
      assert.equal(beats(), atExit, 'no heartbeat after the exit (every 1 s while it ran)');
    });
  }
});
