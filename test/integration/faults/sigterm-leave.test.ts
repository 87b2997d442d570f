/**
 * SIGTERM (systemd stopping kboot-leave-watch.service at shutdown) at every step of `kboot leave`
 * on a worker, to the built binary. The steps are the ones the flow's own `--dry-run --output
 * json` lists for a worker in an Auto Scaling group with kboot's hook (so this follows the flow as
 * it changes). kboot stops its kubeadm, stops the lifecycle heartbeats and exits 130 within the
 * unit's TimeoutStopSec (30 s), leaving no credential behind (a worker holds none: the control
 * plane drains it on its leave request). A worker stopped after the wait for its drain finds its
 * request already done (seeded), so no case waits for a leave controller. The lifecycle
 * action is not completed by a stopped leave: kboot-leave.service finishes what is left, or Auto
 * Scaling goes on at the hook's heartbeat timeout (packer/files/kboot-leave-watch.service).
 * One worker per step, each with its own AWS proxies, so the cases run side by side.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDbLeaveRequests } from '../../../src/adapters/aws/dynamodb-leave-requests.js';
import { testDynamo } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import type { FaultProxy } from '../../support/fault-proxy.js';
import { fakeKubectlPath, nodeObject, readKubectlLog, seedObjects } from '../../support/kubectl-log.js';
import { createLeaveGroup } from '../../support/leave-group.js';
import { type LifecycleStub, startLifecycleStub } from '../../support/lifecycle-stub.js';
import { type Moto, startMoto } from '../../support/moto.js';
import {
  kubeadmsRunning,
  LEAVE_WATCH_TIMEOUT_STOP_MS,
  processesWith,
  secretFilesLeft,
  sigtermLeaveAt,
  sleep,
  why,
} from './harness.js';

const CLUSTER = 'term-leave';
const GROUP = 'term-leave-workers';
const HOOK = 'kboot-leave';
const SLOW = '60000';
/** Where a leaving master keeps its admin.conf copy: a worker must never write anything there. */
const LEAVE_DIR = 'var/lib/kboot/leave';

/**
 * Steps that wait on a child, and the knob that keeps the child running until the signal: any
 * other step (AWS calls held by the proxies, local work) gets none. A step renamed or added by a
 * change to the flow is still covered, only without a slowed child.
 */
const CHILD: Record<string, { env: Record<string, string>; kubeadm?: string; kubectl?: string }> = {
  'kubeadm-reset': { env: { FAKE_KUBEADM_SLEEP_MS: `reset=${SLOW}` }, kubeadm: 'reset' },
};

interface Timing {
  step: string;
  outcome: string;
}

describe('SIGTERM at each step of a worker leaving', { concurrency: 4 }, async () => {
  let moto: Moto;
  let stub: LifecycleStub;
  let sim: SimCluster;
  const workers: SimInstance[] = [];
  const proxies: FaultProxy[] = [];
  const times: Record<string, number> = {};
  let steps: string[] = [];
  let order: string[] = [];

  // The step list is needed to declare the cases: taken from the flow's dry-run plan on a
  // throwaway worker before the cases are declared.
  moto = await startMoto();
  stub = await startLifecycleStub(moto.endpoint);
  sim = new SimCluster(moto, { name: CLUSTER });
  const env = {
    KBOOT_KUBECTL: fakeKubectlPath(),
    FAKE_KUBECTL_LOG: path.join(sim.dir, 'kubectl.jsonl'),
    FAKE_KUBECTL_STATE_DIR: path.join(sim.clusterDir, 'api'),
    AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
  };
  await sim.createTable();
  const master = await sim.addInstance('control-plane', env);
  const booted = await sim.run(master);
  assert.equal(booted.exitCode, 0, why(booted));
  const planner = await sim.addInstance('worker', env);
  const planJoined = await sim.run(planner);
  assert.equal(planJoined.exitCode, 0, why(planJoined));
  await createLeaveGroup(moto, `${GROUP}-plan`, [planner.instanceId]);
  stub.openAction(`${GROUP}-plan`, HOOK, planner.instanceId);
  const plan = await sim.run(planner, ['leave', '--dry-run', '--output', 'json']);
  assert.equal(plan.exitCode, 0, why(plan));
  const timings = (JSON.parse(plan.stdout) as { timings: Timing[] }).timings;
  // Every step in order (a stop between two steps may be reported at a skipped one), and the ones
  // a worker runs, which the cases stop at.
  order = timings.map((timing) => timing.step);
  steps = timings.filter((timing) => timing.outcome !== 'skipped').map((timing) => timing.step);

  before(async () => {
    for (let i = 0; i < steps.length; i += 1) workers.push(await sim.addInstance('worker', env));
    // Joined side by side: each is a worker's boot against the same record.
    const joined = await Promise.all(workers.map((worker) => sim.run(worker)));
    for (const result of joined) assert.equal(result.exitCode, 0, why(result));
    seedObjects(env.FAKE_KUBECTL_STATE_DIR, [
      nodeObject(master.privateDns, { controlPlane: true }),
      ...workers.map((worker) => nodeObject(worker.privateDns)),
    ]);
    await createLeaveGroup(
      moto,
      GROUP,
      workers.map((worker) => worker.instanceId),
    );
    for (const worker of workers) stub.openAction(GROUP, HOOK, worker.instanceId);
    // Past the wait for its drain, a worker finds its request done, as a master would leave it.
    const waitAt = steps.indexOf('wait-for-drain');
    const dynamo = testDynamo(moto);
    try {
      const store = new DynamoDbLeaveRequests({ dynamodb: dynamo, tableName: sim.table });
      for (const [index, worker] of workers.entries()) {
        if (index <= waitAt) continue;
        const at = new Date().toISOString();
        await store.put(CLUSTER, {
          instanceId: worker.instanceId,
          nodeName: worker.privateDns,
          privateIp: worker.privateIp,
          drainTimeoutSeconds: 300,
          requestedAt: at,
        });
        assert.ok(
          await store.claim(CLUSTER, worker.instanceId, { by: master.instanceId, at, staleBefore: at }),
        );
        await store.finish(CLUSTER, worker.instanceId, {
          by: master.instanceId,
          state: 'done',
          at,
          detail: 'seeded',
        });
      }
    } finally {
      dynamo.destroy();
    }
  });
  after(async () => {
    await Promise.all([sim.stop(), ...proxies.map((proxy) => proxy.stop())]);
    await stub.stop();
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (leave, worker): ${rows.join(', ')}\n`);
  });

  it('the dry-run plan lists the steps of a worker leaving', () => {
    for (const step of ['leave-request', 'wait-for-drain', 'kubeadm-reset', 'complete-lifecycle-action']) {
      assert.ok(steps.includes(step), `${step}: ${steps.join(', ')}`);
    }
    assert.ok(!steps.includes('drain') && !steps.includes('kubeconfig'), 'a worker drains nothing itself');
  });

  for (const [index, step] of steps.entries()) {
    it(`at ${step}: exit 130 (0 once the leave is done), child stopped, heartbeats stopped, credential removed, action left open`, async (t) => {
      const worker = workers[index] as SimInstance;
      const child = CHILD[step];
      const startedDir = path.join(sim.dir, `leave-started-${index}`);
      const stopped = await sigtermLeaveAt(sim, worker, {
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
      const last = index === steps.length - 1;
      if (last && result.exitCode === 0) {
        // The last step only reports: a stop that lands as it finishes finds the leave done
        // (the runner undoes nothing once every step ran), and says so with exit 0.
        assert.equal(stopped.stoppedAt, undefined);
        assert.equal((JSON.parse(result.stdout) as { outcome: string }).outcome, 'left');
        assert.ok(!stub.openActions().includes(worker.instanceId), 'the lifecycle action was completed');
        assert.equal(existsSync(path.join(worker.root, LEAVE_DIR)), false, 'no credential written');
        return;
      }
      assert.equal(result.exitCode, 130, why(result));
      assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
      const at = order.indexOf(stopped.stoppedAt?.step ?? '');
      assert.ok(at >= order.indexOf(step), `stopped at ${stopped.stoppedAt?.step}, not before ${step}`);

      // The child was stopped, and nothing kboot started is left running.
      assert.deepEqual(kubeadmsRunning(startedDir), [], 'no kubeadm left running');
      assert.deepEqual(processesWith('kubectl', worker.root), [], 'no kubectl left running');
      if (child?.kubeadm !== undefined) {
        const reset = sim
          .invocations()
          .find((i) => i.command === child.kubeadm && i.env.KBOOT_ROOT === worker.root);
        assert.equal(reset?.signal, 'SIGTERM', `kubeadm ${child.kubeadm} got SIGTERM`);
      }
      if (child?.kubectl !== undefined) {
        const finished = readKubectlLog(env.FAKE_KUBECTL_LOG).filter(
          (entry) => entry.command === child.kubectl && entry.argv.includes(worker.privateDns),
        );
        assert.deepEqual(finished, [], `kubectl ${child.kubectl} was stopped before it finished`);
      }

      // No credential anywhere: a worker never wrote one.
      assert.equal(existsSync(path.join(worker.root, LEAVE_DIR)), false, 'no credential written');
      assert.deepEqual(secretFilesLeft(worker.root), []);

      // The lifecycle action is left for kboot-leave.service (or the hook's heartbeat timeout),
      // and no heartbeat is recorded once kboot has exited.
      assert.ok(stub.openActions().includes(worker.instanceId), 'the lifecycle action is still open');
      const beats = (): number =>
        stub.calls.filter(
          (call) => call.action === 'RecordLifecycleActionHeartbeat' && call.instanceId === worker.instanceId,
        ).length;
      const atExit = beats();
      await sleep(1_500);
      assert.equal(beats(), atExit, 'no heartbeat after the exit (every 1 s while it ran)');
    });
  }
});
