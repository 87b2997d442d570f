/**
 * SIGTERM (an operator's Ctrl-C is SIGINT, handled the same; there is no unit for
 * `kboot cleanup`) at every step of `kboot cleanup` on a master, to the built binary, against a
 * real three-member etcd (test/support/etcd-cluster.ts) with one lost master to remove. The steps
 * are the ones the flow's own `--dry-run --output json` lists (so this follows the flow as it
 * changes). kboot stops its kubectl, releases the control-plane-join lease it takes, removes
 * nothing it had not finished planning under the lease, and exits 130 within its own bound (the
 * stop grace and the undo budget, src/cli/run-flow.ts). A cleanup after the stops removes the
 * lost member. One cluster for every case, so they run one after another.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { STOP_GRACE_MS, UNDO_BUDGET_MS } from '../../../src/cli/run-flow.js';
import { testEc2 } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { fakeKubectlPath } from '../../support/kubectl-log.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { processesWith, readItem, secretFilesLeft, stopAtStep, why } from './harness.js';

const CLUSTER = 'term-cleanup';
const BOUND_MS = STOP_GRACE_MS + UNDO_BUDGET_MS.cleanup;
const missing = etcdMissing();

interface Timing {
  step: string;
  outcome: string;
}

describe('SIGTERM at each step of kboot cleanup', { skip: missing, concurrency: 1 }, async () => {
  if (missing !== undefined) return;
  const moto: Moto = await startMoto();
  const sim = new SimCluster(moto, { name: CLUSTER, env: { KBOOT_KUBECTL: fakeKubectlPath() } });
  let etcd: EtcdCluster | undefined;
  let proxy: FaultProxy | undefined;
  const times: Record<string, number> = {};
  const masters: SimInstance[] = [];

  // The cluster is needed to declare the cases (the step list comes from a dry run on it).
  await sim.createTable();
  for (let i = 0; i < 3; i += 1) masters.push(await sim.addInstance('control-plane'));
  for (const master of masters) {
    const booted = await sim.run(master);
    assert.equal(booted.exitCode, 0, why(booted));
  }
  const [m0, , lost] = masters as [SimInstance, SimInstance, SimInstance];
  etcd = await EtcdCluster.start(
    masters.map((master) => master.privateDns),
    {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    },
  );
  const endpoints = etcd.nodes.map((node) => node.clientUrl).join(',');
  for (const master of masters) master.env.KBOOT_ETCD_ENDPOINTS = endpoints;
  // A master lost without kboot leave: terminated in EC2, its etcd member gone with it.
  const ec2 = testEc2(moto);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [lost.instanceId] }));
  ec2.destroy();
  await etcd.stopMember(lost.privateDns);
  const plan = await sim.run(m0, ['cleanup', '--dry-run', '--output', 'json']);
  assert.equal(plan.exitCode, 0, why(plan));
  const steps = (JSON.parse(plan.stdout) as { steps: Timing[] }).steps
    .filter((timing) => timing.outcome !== 'skipped')
    .map((timing) => timing.step);

  before(async () => {
    proxy = await startFaultProxy(moto.endpoint);
  });
  after(async () => {
    await etcd?.stop();
    await Promise.all([sim.stop(), proxy?.stop()]);
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# SIGTERM → exit (cleanup): ${rows.join(', ')}\n`);
  });

  it('the dry-run plan lists the steps that remove a lost member', () => {
    assert.ok(steps.includes('remove-lost'), steps.join(', '));
  });

  for (const [index, step] of steps.entries()) {
    it(`at ${step}: exit 130, kubectl stopped, lease released, nothing removed`, async (t) => {
      const stopped = await stopAtStep(sim, m0, {
        at: { flow: 'cleanup', step },
        act: 'SIGTERM',
        args: ['cleanup', '--output', 'json'],
        proxy: proxy as FaultProxy,
      });
      const { result } = stopped;
      assert.ok(stopped.acted, `step ${step} never started:\n${why(result)}`);
      t.diagnostic(`SIGTERM → exit: ${stopped.actToExitMs} ms; stopped at ${stopped.stoppedAt?.step}`);
      assert.equal(result.exitCode, 130, why(result));
      assert.match(result.error?.msg ?? '', /^interrupted by SIGTERM/);
      assert.ok((stopped.actToExitMs as number) < BOUND_MS);
      times[step] = stopped.actToExitMs as number;
      assert.ok(
        steps.indexOf(stopped.stoppedAt?.step ?? '') >= index,
        `stopped at ${stopped.stoppedAt?.step}`,
      );

      assert.deepEqual(processesWith('kubectl', m0.root), [], 'no kubectl left running');
      const lock = await readItem(moto, CLUSTER, 'lock#control-plane-join');
      assert.equal(lock?.owner, undefined, 'the control-plane-join lease released');
      const leaseStep = steps.indexOf('control-plane-join-lease');
      if (leaseStep >= 0 && steps.indexOf(stopped.stoppedAt?.step ?? '') > leaseStep)
        assert.ok(lock !== undefined, 'the lease was taken before the stop, then released');
      assert.ok((await etcd?.memberNames())?.includes(lost.privateDns), 'a stopped cleanup removed nothing');
      assert.deepEqual(secretFilesLeft(m0.root), []);
    });
  }

  it('a cleanup after the stops removes the lost member', async () => {
    const result = await sim.run(m0, ['cleanup', '--output', 'json']);
    assert.equal(result.exitCode, 0, why(result));
    assert.ok(!(await etcd?.memberNames())?.includes(lost.privateDns));
    assert.equal((await readItem(moto, CLUSTER, 'lock#control-plane-join'))?.owner, undefined);
  });
});
