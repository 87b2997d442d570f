/**
 * The cleanup of abrupt losses against a real etcd: three etcd 3.4 members on loopback with
 * client TLS (test/support/etcd-cluster.ts), their certificates signed by the simulated cluster's
 * etcd CA, so kboot reaches them with the apiserver-etcd-client certificate the fake kubeadm wrote
 * on each master; moto for EC2 and DynamoDB; the built binary. Member names are the simulated
 * masters' private DNS names, as kubeadm names them. KBOOT_ETCD_ENDPOINTS points kboot at the
 * loopback members (on AWS it reaches https://<private IP>:2379).
 */

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { systemClock } from '../../src/core/clock.js';
import { testDynamo, testEc2 } from '../support/aws.js';
import type { RunResult } from '../support/cli.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../support/etcd-cluster.js';
import {
  fakeKubectlPath,
  nodeObject,
  readKubectlLog,
  seedObjects,
  storedObjects,
} from '../support/kubectl-log.js';
import { type Moto, startMoto } from '../support/moto.js';
import { freePort } from '../support/paths.js';

const missing = etcdMissing();

interface CleanupJson {
  outcome: string;
  summary: string;
  etcd: {
    quorum: { votingMembers: number; aliveMembers: number; needed: number } | null;
    members: { name: string; instanceState: string; alive: boolean; action: string; reason: string }[];
    explanation: string | null;
  };
}

function logsMatching(result: RunResult, pattern: RegExp): Record<string, unknown>[] {
  return result.logs.filter((line) => pattern.test(String(line.msg ?? '')));
}

describe('cleanup of lost instances (real etcd)', { skip: missing }, () => {
  let moto: Moto;
  const sims: SimCluster[] = [];
  const etcds: EtcdCluster[] = [];

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all(etcds.map((etcd) => etcd.stop()));
    await Promise.all(sims.map((sim) => sim.stop()));
    await moto?.stop();
  });
  beforeEach(() => moto.reset());

  /** Three masters booted through kboot (fake kubeadm), and a real etcd member for each. */
  async function threeMasters(
    name: string,
  ): Promise<{ sim: SimCluster; masters: SimInstance[]; etcd: EtcdCluster }> {
    // The recording kubectl (KBOOT_KUBECTL); its store is pinned per test where Nodes matter.
    const sim = new SimCluster(moto, { name, env: { KBOOT_KUBECTL: fakeKubectlPath() } });
    sims.push(sim);
    await sim.createTable();
    const masters: SimInstance[] = [];
    for (let i = 0; i < 3; i += 1) masters.push(await sim.addInstance('control-plane'));
    for (const master of masters) {
      const booted = await sim.run(master);
      assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    }
    const etcd = await EtcdCluster.start(
      masters.map((master) => master.privateDns),
      {
        certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
        keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
      },
    );
    etcds.push(etcd);
    const endpoints = etcd.nodes.map((node) => node.clientUrl).join(',');
    for (const master of masters) master.env.KBOOT_ETCD_ENDPOINTS = endpoints;
    return { sim, masters, etcd };
  }

  async function terminate(...instances: SimInstance[]): Promise<void> {
    const ec2 = testEc2(moto);
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: instances.map((i) => i.instanceId) }));
    } finally {
      ec2.destroy();
    }
  }

  it('removes the member of a terminated master before the next control-plane join', async (t) => {
    const { sim, masters, etcd } = await threeMasters('lost-one');
    const [m0, m1, m2] = masters as [SimInstance, SimInstance, SimInstance];
    // The instance dies without kboot leave: terminated in EC2, its etcd gone with it.
    await terminate(m2);
    await etcd.stopMember(m2.privateDns);

    const replacement = await sim.addInstance('control-plane', {
      KBOOT_ETCD_ENDPOINTS: etcd.nodes.map((node) => node.clientUrl).join(','),
    });
    const joined = await sim.run(replacement);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-3000));
    assert.doesNotMatch(joined.stderr, /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key or certificate in the logs');

    assert.deepEqual(await etcd.memberNames(), [m0.privateDns, m1.privateDns].sort());
    const removal = logsMatching(
      joined,
      new RegExp(`^removing etcd member ${m2.privateDns.replaceAll('.', '\\.')}`),
    );
    assert.equal(removal.length, 1, 'one removal logged');
    assert.match(String(removal[0]?.reason), new RegExp(`instance ${m2.instanceId} is terminated`));
    const done = logsMatching(joined, /^etcd cleanup before joining done/)[0];
    t.diagnostic(`the cleanup before the join (prepare phases included) took ${String(done?.took)}`);

    // Cleaned up first, with the certificates kubeadm's own prepare phases downloaded, then joined.
    const commands = sim
      .invocations()
      .filter((call) => call.env.KBOOT_ROOT === replacement.root)
      .map((call) => call.command);
    const prepare = commands.indexOf('join phase control-plane-prepare download-certs');
    assert.ok(prepare >= 0, `prepare phases ran: ${commands.join(', ')}`);
    assert.ok(commands.indexOf('join phase control-plane-prepare certs') > prepare);
    assert.ok(commands.lastIndexOf('join') > prepare, 'kubeadm join after the cleanup');
  });

  it('never removes a member whose instance still runs, and says why', async () => {
    const { sim, masters, etcd } = await threeMasters('kept');
    const [m0, m1] = masters as [SimInstance, SimInstance, SimInstance];
    await etcd.stopMember(m1.privateDns); // etcd died, the instance runs

    const result = await sim.run(m0, ['cleanup', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const report = JSON.parse(result.stdout) as CleanupJson;
    assert.equal(report.outcome, 'clean');
    const m1Report = report.etcd.members.find((member) => member.name === m1.privateDns);
    assert.equal(m1Report?.action, 'kept');
    assert.equal(m1Report?.alive, false);
    assert.equal(m1Report?.instanceState, 'running');
    assert.match(m1Report?.reason ?? '', /is running: never removed while its instance exists/);
    assert.equal(logsMatching(result, /does not answer but is kept/).length, 1);
    assert.equal((await etcd.memberNames()).length, 3);
  });

  it('refuses to remove anything when two of three members are lost, and explains quorum', async () => {
    const { sim, masters, etcd } = await threeMasters('quorum');
    const [m0, m1, m2] = masters as [SimInstance, SimInstance, SimInstance];
    await terminate(m1, m2);
    await etcd.stopMember(m1.privateDns);
    await etcd.stopMember(m2.privateDns);

    const result = await sim.run(m0, ['cleanup', '--output', 'json']);
    assert.equal(result.exitCode, 8, result.stderr.slice(-2000));
    assert.match(
      result.error?.msg ?? '',
      /has lost quorum \(1 of 3 members answer, 2 needed\): kboot removes nothing/,
    );
    assert.match(result.error?.hint ?? '', /snapshot/);
    const report = JSON.parse(result.stdout) as CleanupJson;
    assert.equal(report.outcome, 'quorum-lost');
    assert.match(report.etcd.explanation ?? '', /etcd disaster recovery/);
    assert.deepEqual(report.etcd.quorum, { votingMembers: 3, aliveMembers: 1, needed: 2 });
    assert.ok(report.etcd.members.every((member) => member.action === 'kept'));
    assert.equal(logsMatching(result, /^removing etcd member/).length, 0);
    assert.equal((await etcd.memberNames()).length, 3);
  });

  it('deletes the Node objects of terminated or vanished instances, and keeps the others', async () => {
    const { sim, masters } = await threeMasters('nodes');
    const [m0] = masters as [SimInstance, SimInstance, SimInstance];
    const gone = await sim.addInstance('worker');
    const alive = await sim.addInstance('worker');
    const stateDir = path.join(sim.dir, 'api-store');
    const notReady = (object: ReturnType<typeof nodeObject>) => ({
      ...object,
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    });
    seedObjects(stateDir, [
      ...masters.map((master) => nodeObject(master.privateDns, { controlPlane: true })),
      notReady(nodeObject(gone.privateDns, { providerId: `aws:///us-east-1a/${gone.instanceId}` })),
      nodeObject(alive.privateDns, { providerId: `aws:///us-east-1a/${alive.instanceId}` }),
      // a Node whose instance vanished long ago: no providerID, no instance has its name
      notReady(nodeObject('ip-10-9-9-9.ec2.internal')),
    ]);
    await terminate(gone);

    const result = await sim.run(m0, ['cleanup', '--output', 'json'], {
      env: { FAKE_KUBECTL_STATE_DIR: stateDir, FAKE_KUBECTL_LOG: sim.kubectlLog },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const report = JSON.parse(result.stdout) as CleanupJson & {
      nodes: { skipped: string | null; nodes: { name: string; action: string; reason: string }[] };
    };
    const byName = new Map(report.nodes.nodes.map((node) => [node.name, node]));
    assert.equal(report.nodes.skipped, null);
    assert.equal(byName.get(gone.privateDns)?.action, 'deleted');
    assert.match(
      byName.get(gone.privateDns)?.reason ?? '',
      new RegExp(`instance ${gone.instanceId} is terminated`),
    );
    assert.equal(byName.get('ip-10-9-9-9.ec2.internal')?.action, 'deleted');
    assert.equal(byName.get(alive.privateDns)?.action, 'kept');
    for (const master of masters) assert.equal(byName.get(master.privateDns)?.action, 'kept');

    const remaining = storedObjects(stateDir, { kind: 'Node' })
      .map((node) => node.metadata.name)
      .sort();
    assert.deepEqual(remaining, [...masters.map((m) => m.privateDns), alive.privateDns].sort());
    const kubectlLog = readKubectlLog(sim.kubectlLog);
    const deletes = kubectlLog.filter(
      (call) => call.command?.startsWith('delete') && call.argv.includes('node'),
    );
    assert.deepEqual(
      deletes.map((call) => call.argv.find((arg) => arg.startsWith('ip-'))).sort(),
      [gone.privateDns, 'ip-10-9-9-9.ec2.internal'].sort(),
    );
    assert.equal(logsMatching(result, /^deleting Node /).length, 2);
  });

  it('plans with --dry-run, then kboot rotate on its timer removes the member', async (t) => {
    const { sim, masters, etcd } = await threeMasters('rotate');
    const [m0, m1, m2] = masters as [SimInstance, SimInstance, SimInstance];
    await terminate(m2);
    await etcd.stopMember(m2.privateDns);

    const planned = await sim.run(m0, ['cleanup', '--dry-run', '--output', 'json']);
    assert.equal(planned.exitCode, 0, planned.stderr.slice(-2000));
    const plan = JSON.parse(planned.stdout) as CleanupJson;
    assert.equal(plan.outcome, 'planned');
    assert.equal(plan.etcd.members.find((member) => member.name === m2.privateDns)?.action, 'would-remove');
    assert.equal((await etcd.memberNames()).length, 3, 'a dry run changes nothing');

    const rotated = await sim.run(m1, ['rotate', '--output', 'json']);
    assert.equal(rotated.exitCode, 0, rotated.stderr.slice(-2000));
    const result = JSON.parse(rotated.stdout) as {
      cleanup: CleanupJson | null;
      steps: { step: string; durationMs: number }[];
    };
    assert.equal(result.cleanup?.outcome, 'cleaned');
    const step = result.steps.find((s) => s.step === 'cleanup-lost-instances');
    t.diagnostic(`the cleanup in rotate took ${step?.durationMs} ms (one removal)`);
    assert.deepEqual(await etcd.memberNames(), [m0.privateDns, m1.privateDns].sort());
    assert.equal(logsMatching(rotated, /^removing etcd member/).length, 1);

    // The next run finds nothing to do.
    const again = await sim.run(m0, ['cleanup']);
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    assert.match(again.stdout, /nothing of cluster rotate belongs to a lost instance/);
  });

  it('fails clearly: a worker, no etcd client certificate, etcd unreachable, bad endpoints', async () => {
    const { sim, masters } = await threeMasters('errors');
    const [m0, m1] = masters as [SimInstance, SimInstance, SimInstance];
    const worker = await sim.addInstance('worker');
    const onWorker = await sim.run(worker, ['cleanup']);
    assert.equal(onWorker.exitCode, 9);
    assert.match(onWorker.error?.msg ?? '', /tagged worker, so it cannot run 'kboot cleanup'/);

    rmSync(path.join(m1.root, 'etc', 'kubernetes', 'pki', 'apiserver-etcd-client.key'));
    const noCert = await sim.run(m1, ['cleanup']);
    assert.equal(noCert.exitCode, 9);
    assert.match(noCert.error?.msg ?? '', /cannot read \/etc\/kubernetes\/pki\/apiserver-etcd-client\.key/);

    const closed = `https://127.0.0.1:${await freePort()}`;
    const unreachable = await sim.run(m0, ['cleanup'], { env: { KBOOT_ETCD_ENDPOINTS: closed } });
    assert.equal(unreachable.exitCode, 6, unreachable.stderr.slice(-2000));
    assert.match(unreachable.error?.msg ?? '', /etcd did not answer \/v3\/cluster\/member\/list/);

    const bad = await sim.run(m0, ['cleanup'], { env: { KBOOT_ETCD_ENDPOINTS: 'http://127.0.0.1:2379' } });
    assert.equal(bad.exitCode, 2);
    assert.match(bad.error?.msg ?? '', /not an https:\/\/ URL/);
  });

  it('changes etcd membership one at a time: a joining master holds the lease, rotate skips, cleanup waits', async () => {
    const { sim, masters, etcd } = await threeMasters('serialized');
    const [m0, m1, m2] = masters as [SimInstance, SimInstance, SimInstance];
    await terminate(m2);
    await etcd.stopMember(m2.privateDns);
    const dynamodb = testDynamo(moto);
    const store = new DynamoDbClusterStore({ dynamodb, tableName: sim.table, clock: systemClock });
    const lock = store.leaseLock(sim.name, 'control-plane-join');
    try {
      const held = await lock.tryAcquire({ owner: 'i-joining', nowMs: Date.now(), leaseMs: 60_000 });
      assert.ok(held.acquired);

      const rotated = await sim.run(m0, ['rotate', '--output', 'json']);
      assert.equal(rotated.exitCode, 0, rotated.stderr.slice(-2000));
      assert.equal((JSON.parse(rotated.stdout) as { cleanup: unknown }).cleanup, null);
      assert.equal(logsMatching(rotated, /rotate skips the cleanup this time/).length, 1);

      const waited = await sim.run(m1, ['cleanup', '--wait-timeout', '2s']);
      assert.equal(waited.exitCode, 6, waited.stderr.slice(-2000));
      assert.match(
        waited.error?.msg ?? '',
        /waiting for the control-plane-join lease of cluster "serialized"/,
      );
      assert.equal((await etcd.memberNames()).length, 3, 'nothing removed while a master joins');

      if (held.acquired) await lock.release(held.lease, Date.now());
      const cleaned = await sim.run(m1, ['cleanup']);
      assert.equal(cleaned.exitCode, 0, cleaned.stderr.slice(-2000));
      assert.deepEqual(await etcd.memberNames(), [m0.privateDns, m1.privateDns].sort());
    } finally {
      dynamodb.destroy();
    }
  });
});
