/**
 * `kboot leave` end to end: the built binary, moto (groups, hooks, DynamoDB, Secrets Manager),
 * the lifecycle stub (the two Auto Scaling actions moto lacks, the lifecycle state of a
 * terminating instance, everything else forwarded to moto), one IMDS server and root per
 * instance, the fake kubeadm and the recording kubectl, and for a master a real three-member etcd
 * (Debian's etcd-server) signed by the cluster's etcd CA. A worker asks the control plane to drain
 * it: `kboot leave-controller` runs on the master meanwhile, as its timer would.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { DynamoDbLeaveRequests } from '../../src/adapters/aws/dynamodb-leave-requests.js';
import type { LeaveRequest } from '../../src/domain/leave/request.js';
import { testDynamo, testSecrets } from '../support/aws.js';
import { startAwsErrorStub } from '../support/aws-stub.js';
import type { RunResult } from '../support/cli.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../support/etcd-cluster.js';
import {
  fakeKubectlPath,
  type KubectlInvocation,
  nodeObject,
  readKubectlLog,
  seedObjects,
  storedObject,
} from '../support/kubectl-log.js';
import { createLeaveGroup } from '../support/leave-group.js';
import { type LifecycleStub, startLifecycleStub } from '../support/lifecycle-stub.js';
import { type Moto, startMoto } from '../support/moto.js';

const GROUP = 'leave-workers';

describe('kboot leave', () => {
  let moto: Moto;
  let stub: LifecycleStub;
  const sims: SimCluster[] = [];
  const etcds: EtcdCluster[] = [];

  before(async () => {
    moto = await startMoto();
    stub = await startLifecycleStub(moto.endpoint);
  });
  after(async () => {
    await Promise.all(sims.map((sim) => sim.stop()));
    await Promise.all(etcds.map((etcd) => etcd.stop()));
    await stub.stop();
    await moto.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    stub.calls.length = 0;
  });

  function group(instances: SimInstance[], hook = true): Promise<void> {
    return createLeaveGroup(
      moto,
      GROUP,
      instances.map((instance) => instance.instanceId),
      { hook },
    );
  }

  interface Setup {
    sim: SimCluster;
    master: SimInstance;
    worker: SimInstance;
    kubectlLog: string;
    apiDir: string;
  }

  /** A cluster (one master, one worker, both booted) and the Node objects; no rotate has run. */
  async function cluster(name: string, env: Record<string, string> = {}): Promise<Setup> {
    const sim = new SimCluster(moto, { name, env });
    sims.push(sim);
    const kubectlLog = path.join(sim.dir, 'kubectl.jsonl');
    const apiDir = path.join(sim.clusterDir, 'api');
    Object.assign(env, {
      KBOOT_KUBECTL: fakeKubectlPath(),
      FAKE_KUBECTL_LOG: kubectlLog,
      FAKE_KUBECTL_STATE_DIR: apiDir,
      AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
    });
    await sim.createTable();
    // EC2's own addresses: the leave controller checks a request's node name and IP against them.
    const master = await sim.addInstance('control-plane', env);
    const booted = await sim.run(master, ['boot', '--output', 'json']);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    const worker = await sim.addInstance('worker', env);
    const joined = await sim.run(worker, ['boot', '--output', 'json']);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-2000));
    seedObjects(apiDir, [
      nodeObject(master.privateDns, { controlPlane: true }),
      nodeObject(worker.privateDns),
    ]);
    return { sim, master, worker, kubectlLog, apiDir };
  }

  /**
   * `kboot leave-controller` on the master whenever a leave request is pending (checked every
   * 200 ms, in process), as kboot-leave-controller.timer runs it every 10 s; `stop` returns every
   * run.
   */
  function controllerLoop(sim: SimCluster, master: SimInstance, env: Record<string, string> = {}) {
    const runs: RunResult[] = [];
    let stopped = false;
    const loop = (async () => {
      const dynamo = testDynamo(moto);
      const store = new DynamoDbLeaveRequests({ dynamodb: dynamo, tableName: sim.table });
      try {
        while (!stopped) {
          const pending = (await store.list(sim.name)).some((request) => request.state === undefined);
          if (pending) runs.push(await sim.run(master, ['leave-controller', '--output', 'json'], { env }));
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        dynamo.destroy();
      }
    })();
    return {
      async stop(): Promise<RunResult[]> {
        stopped = true;
        await loop;
        for (const run of runs) assert.equal(run.exitCode, 0, run.stderr.slice(-2000));
        return runs;
      },
    };
  }

  async function leaveRequest(
    sim: SimCluster,
    cluster: string,
    instanceId: string,
  ): Promise<LeaveRequest | undefined> {
    const dynamo = testDynamo(moto);
    try {
      return await new DynamoDbLeaveRequests({ dynamodb: dynamo, tableName: sim.table }).read(
        cluster,
        instanceId,
      );
    } finally {
      dynamo.destroy();
    }
  }

  /** A real etcd of the master and two peers, signed by the master's etcd CA. */
  async function threeMemberEtcd(master: SimInstance): Promise<EtcdCluster> {
    const pki = path.join(master.root, 'etc/kubernetes/pki/etcd');
    const etcd = await EtcdCluster.start([master.privateDns, 'peer-b', 'peer-c'], {
      certPath: path.join(pki, 'ca.crt'),
      keyPath: path.join(pki, 'ca.key'),
    });
    etcds.push(etcd);
    return etcd;
  }

  /** The instance in the group, with its termination lifecycle action open; returns the action's token. */
  async function terminating(instance: SimInstance): Promise<string> {
    await group([instance]);
    return stub.openAction(GROUP, 'kboot-leave', instance.instanceId);
  }

  /** How many CompleteLifecycleAction calls the stub answered ok. */
  function completedActions(): number {
    return stub.calls.filter((c) => c.action === 'CompleteLifecycleAction' && c.answer === 'ok').length;
  }

  function byCommand(log: KubectlInvocation[], command: string, node: string): KubectlInvocation {
    const found = log.find((entry) => entry.command === command && entry.argv.includes(node));
    assert.ok(found, `kubectl ${command} ${node} was run: ${log.map((e) => e.argv.join(' ')).join(' | ')}`);
    return found;
  }

  function resetOf(sim: SimCluster, instance: SimInstance) {
    const reset = sim
      .invocations()
      .find((call) => call.command === 'reset' && call.env.KBOOT_ROOT === instance.root);
    assert.ok(reset, 'kubeadm reset ran');
    return reset;
  }

  it('a worker asks; the master drains it and deletes its Node with its own admin.conf; the worker resets and completes the action', async () => {
    const { sim, master, worker, kubectlLog, apiDir } = await cluster('wleave', {
      FAKE_KUBECTL_DRAIN_MS: '3500',
    });
    const token = await terminating(worker);
    const controller = controllerLoop(sim, master);
    const result = await sim.run(worker, ['leave', '--heartbeat-interval', '1s', '--output', 'json']);
    const runs = await controller.stop();
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const report = JSON.parse(result.stdout) as {
      outcome: string;
      autoScalingGroup: string;
      steps: { step: string; outcome: string; detail: string }[];
    };
    assert.equal(report.outcome, 'left');
    assert.equal(report.autoScalingGroup, GROUP);
    assert.match(
      report.steps.find((s) => s.step === 'wait-for-drain')?.detail ?? '',
      new RegExp(`\\(${master.instanceId}\\) drained node ${worker.privateDns.replaceAll('.', '\\.')}`),
    );

    const log = readKubectlLog(kubectlLog);
    const drain = byCommand(log, 'drain', worker.privateDns);
    assert.equal(drain.exitCode, 0);
    for (const flag of ['ignore-daemonsets', 'delete-emptydir-data'])
      assert.ok(flag in (drain.drain?.flags ?? {}), flag);
    assert.equal(drain.drain?.timeoutMs, 300_000, "the worker's drain deadline");
    const del = byCommand(log, 'delete', worker.privateDns);
    const reset = resetOf(sim, worker);
    assert.deepEqual(reset.argv, ['reset', '-f']);
    const completes = stub.calls.filter((call) => call.action === 'CompleteLifecycleAction');
    assert.equal(completes.length, 1);
    assert.equal(completes[0]?.result, 'CONTINUE');
    assert.equal(completes[0]?.answer, 'ok');
    assert.deepEqual(stub.openActions(), [], `the action (token ${token}) is no longer open`);
    // In order: drain, Node deleted (by the master), kubeadm reset, lifecycle action completed.
    assert.ok(drain.endedAtMs <= del.startedAtMs, 'drain before the Node is deleted');
    assert.ok(del.endedAtMs <= reset.startedAtMs, 'the Node deleted before the worker resets');
    assert.ok(reset.endedAtMs <= (completes[0]?.atMs ?? 0), 'reset before the action completes');
    assert.equal(storedObject(apiDir, { kind: 'Node', name: worker.privateDns }), undefined);

    // Heartbeats while the (3.5 s) drain ran, and none after the action completed.
    const beats = stub.calls.filter((call) => call.action === 'RecordLifecycleActionHeartbeat');
    const during = beats.filter((beat) => beat.atMs >= drain.startedAtMs && beat.atMs <= drain.endedAtMs);
    assert.ok(during.length >= 2, `heartbeats during the drain: ${during.length}`);
    assert.ok(beats.every((beat) => beat.atMs <= (completes[0]?.atMs ?? 0)));

    // Every kubectl call was the master's, with its own admin.conf (0600): the worker ran none.
    const adminConf = path.join(master.root, 'etc/kubernetes/admin.conf');
    for (const entry of log.filter((e) => e.argv.includes(worker.privateDns))) {
      assert.equal(entry.kubeconfig?.path, adminConf);
      assert.equal(entry.kubeconfig?.mode, '0600');
    }
    assert.ok(
      log.every((entry) => !(entry.kubeconfig?.path ?? '').startsWith(worker.root)),
      'no kubectl call with a kubeconfig of the worker',
    );
    assert.ok(!existsSync(path.join(worker.root, 'var/lib/kboot/leave')), 'the worker wrote no credential');
    const request = await leaveRequest(sim, 'wleave', worker.instanceId);
    assert.equal(request?.state, 'done');
    assert.equal(request?.claimedBy, master.instanceId);
    assert.equal(request?.nodeName, worker.privateDns);
    const handled = runs.flatMap(
      (run) => (JSON.parse(run.stdout) as { requests: { instanceId: string; outcome: string }[] }).requests,
    );
    assert.deepEqual(
      handled.filter((one) => one.outcome === 'done').map((one) => one.instanceId),
      [worker.instanceId],
      'drained once',
    );

    // The backstop for a worker that gets no drain: every kubelet's graceful node shutdown, in
    // the KubeletConfiguration the first master gave kubeadm init (kubeadm carries it to joiners).
    const init = sim.invocations().find((call) => call.command === 'init');
    assert.match(init?.config?.text ?? '', /shutdownGracePeriod: 60s\n/);
    assert.match(init?.config?.text ?? '', /shutdownGracePeriodCriticalPods: 20s\n/);

    // A re-run does what is left: nothing but finding the request done and the action completed.
    const again = await sim.run(worker, ['leave', '--output', 'json']);
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    const steps = (JSON.parse(again.stdout) as { steps: { step: string; outcome: string }[] }).steps;
    assert.equal(steps.find((s) => s.step === 'leave-request')?.outcome, 'skipped');
    assert.equal(steps.find((s) => s.step === 'complete-lifecycle-action')?.outcome, 'skipped');
  });

  it('the controller refuses requests for an instance that is not terminating, or naming another node', async () => {
    const { sim, master, worker, kubectlLog, apiDir } = await cluster('refuse');
    await group([worker]); // InService: no lifecycle action open
    const dynamo = testDynamo(moto);
    const store = new DynamoDbLeaveRequests({ dynamodb: dynamo, tableName: sim.table });
    const requestedAt = new Date(Date.now() - 60_000).toISOString();
    const of = (instance: SimInstance, nodeName = instance.privateDns) => ({
      instanceId: instance.instanceId,
      nodeName,
      privateIp: instance.privateIp,
      drainTimeoutSeconds: 300,
      requestedAt,
    });
    try {
      // What a compromised worker can write: requests naming a healthy worker, and the master.
      assert.equal(await store.put('refuse', of(worker)), 'written');
      assert.equal(await store.put('refuse', of(master)), 'written');
      const first = await sim.run(master, ['leave-controller', '--output', 'json']);
      assert.equal(first.exitCode, 0, first.stderr.slice(-2000));
      const outcomes = (JSON.parse(first.stdout) as { requests: { instanceId: string; outcome: string }[] })
        .requests;
      assert.deepEqual(outcomes.map((one) => one.outcome).sort(), ['refused', 'refused']);
      assert.match(
        (await store.read('refuse', worker.instanceId))?.detail ?? '',
        /InService in Auto Scaling, not Terminating:Wait/,
      );
      assert.match(
        (await store.read('refuse', master.instanceId))?.detail ?? '',
        /in no Auto Scaling group and EC2 says it is running/,
      );

      // A terminating worker's request naming another node: refused too.
      stub.openAction(GROUP, 'kboot-leave', worker.instanceId);
      assert.equal(
        await store.put('refuse', of(worker, master.privateDns)),
        'written',
        'replaces the refused one',
      );
      const second = await sim.run(master, ['leave-controller']);
      assert.equal(second.exitCode, 0, second.stderr.slice(-2000));
      assert.match(
        (await store.read('refuse', worker.instanceId))?.detail ?? '',
        new RegExp(`names node ${master.privateDns.replaceAll('.', '\\.')}`),
      );
    } finally {
      dynamo.destroy();
    }
    assert.ok(
      !readKubectlLog(kubectlLog).some(
        (entry) => entry.command === 'drain' || (entry.command === 'delete' && entry.argv.includes('node')),
      ),
      'nothing drained or deleted',
    );
    for (const instance of [master, worker]) {
      assert.ok(storedObject(apiDir, { kind: 'Node', name: instance.privateDns }), 'its Node is still there');
    }
  });

  it("a master removes its etcd member (real etcd), skips kubeadm reset's own removal, and uses admin.conf", {
    skip: etcdMissing(),
  }, async () => {
    const { sim, master, kubectlLog, apiDir } = await cluster('mleave');
    const etcd = await threeMemberEtcd(master);
    // etcd refuses to remove a member until its peers have been connected for 5 s.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await terminating(master);
    // Its own member only, as on a real master (127.0.0.1:2379): kboot removes it through the others.
    const endpoints = etcd.node(master.privateDns).clientUrl;
    const result = await sim.run(master, ['leave', '--output', 'json'], {
      env: { KBOOT_ETCD_ENDPOINTS: endpoints },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));

    const names = (
      (await etcd.post(etcd.node('peer-b').clientUrl, '/v3/cluster/member/list')) as {
        members: { name?: string }[];
      }
    ).members.map((member) => member.name);
    assert.deepEqual(names.sort(), ['peer-b', 'peer-c']);
    const removedAt = Date.parse(
      String(result.logs.find((line) => /removed etcd member/.test(String(line.msg)))?.time),
    );
    const log = readKubectlLog(kubectlLog);
    const drain = byCommand(log, 'drain', master.privateDns);
    const del = byCommand(log, 'delete', master.privateDns);
    const reset = resetOf(sim, master);
    assert.deepEqual(reset.argv, ['reset', '-f', '--skip-phases=remove-etcd-member']);
    const complete = stub.calls.find((call) => call.action === 'CompleteLifecycleAction');
    assert.ok(drain.endedAtMs <= removedAt && removedAt <= reset.startedAtMs, 'drain, etcd removal, reset');
    assert.ok(reset.endedAtMs <= del.startedAtMs && del.endedAtMs <= (complete?.atMs ?? 0));
    assert.equal(storedObject(apiDir, { kind: 'Node', name: master.privateDns }), undefined);
    // admin.conf (kept across reset as a 0600 copy), never the node-leave credential.
    for (const entry of log.filter((e) => e.argv.includes(master.privateDns))) {
      assert.match(entry.kubeconfig?.path ?? '', /var\/lib\/kboot\/leave\/admin\.conf$/);
      assert.equal(entry.kubeconfig?.mode, '0600');
    }
    const dynamo = testDynamo(moto);
    try {
      const store = new DynamoDbClusterStore({ dynamodb: dynamo, tableName: sim.table });
      const state = await store.readClusterState('mleave');
      assert.deepEqual(
        state?.members.map((m) => m.instanceId),
        [],
        'member record removed',
      );
    } finally {
      dynamo.destroy();
    }
    // A re-run finds everything done: no local etcd any more, no Node, no action waiting.
    const again = await sim.run(master, ['leave', '--output', 'json'], {
      env: { KBOOT_ETCD_ENDPOINTS: endpoints },
    });
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    const steps = (JSON.parse(again.stdout) as { steps: { step: string; outcome: string }[] }).steps;
    for (const step of ['etcd-member', 'drain', 'complete-lifecycle-action']) {
      assert.equal(steps.find((s) => s.step === step)?.outcome, 'skipped', step);
    }
  });

  it('a master refuses to remove its etcd member when the others could not keep quorum', {
    skip: etcdMissing(),
  }, async () => {
    const { sim, master } = await cluster('quorum');
    const etcd = await threeMemberEtcd(master);
    await etcd.stopMember('peer-c');
    const result = await sim.run(master, ['leave', '--output', 'json'], {
      env: { KBOOT_ETCD_ENDPOINTS: etcd.node(master.privateDns).clientUrl },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const steps = (
      JSON.parse(result.stdout) as { steps: { step: string; outcome: string; detail: string }[] }
    ).steps;
    const member = steps.find((s) => s.step === 'etcd-member');
    assert.equal(member?.outcome, 'skipped');
    assert.match(member?.detail ?? '', /refused to remove etcd member .*quorum/);
  });

  it('outside an Auto Scaling group: skips the lifecycle steps; a running instance is not drained (exit 8), still resets', async () => {
    const { sim, master, worker } = await cluster('noasg');
    const controller = controllerLoop(sim, master);
    const result = await sim.run(worker, ['leave', '--output', 'json']);
    await controller.stop();
    // EC2 says running (kboot leave by hand): the control plane refuses; at a real termination
    // kboot-leave.service runs while EC2 says shutting-down, and the node is drained.
    assert.equal(result.exitCode, 8, result.stderr.slice(-2000));
    assert.match(
      result.error?.msg ?? '',
      /refused to drain node .*in no Auto Scaling group and EC2 says it is running/,
    );
    assert.ok(result.logs.some((line) => /in no Auto Scaling group/.test(String(line.msg))));
    assert.equal(stub.calls.length, 0);
    resetOf(sim, worker);
  });

  it('a group without the hook: says so and skips the lifecycle steps', async () => {
    const { sim, master, worker, kubectlLog } = await cluster('nohook');
    await group([worker], false);
    stub.setLifecycleState(worker.instanceId, 'Terminating:Proceed');
    const controller = controllerLoop(sim, master);
    const result = await sim.run(worker, ['leave']);
    await controller.stop();
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    byCommand(readKubectlLog(kubectlLog), 'drain', worker.privateDns);
    assert.ok(result.logs.some((line) => /has no lifecycle hook kboot-leave/.test(String(line.msg))));
    assert.equal(stub.calls.length, 0);
  });

  it('Auto Scaling denied: the node still leaves the cluster, and exit 4 says what failed', async () => {
    const { sim, master, worker } = await cluster('denied');
    const denying = await startAwsErrorStub(
      403,
      'AccessDenied',
      'not authorized to DescribeAutoScalingInstances',
    );
    const controller = controllerLoop(sim, master);
    try {
      const result = await sim.run(worker, ['leave'], {
        env: { AWS_ENDPOINT_URL_AUTO_SCALING: denying.endpoint },
      });
      assert.equal(result.exitCode, 4, result.stderr.slice(-2000));
      assert.match(result.error?.hint ?? '', /autoscaling:DescribeAutoScalingInstances/);
      // Still asked the control plane (which found the instance in no group, running: refused).
      assert.equal((await leaveRequest(sim, 'denied', worker.instanceId))?.state, 'refused');
      resetOf(sim, worker);
    } finally {
      await controller.stop();
      await denying.stop();
    }
  });

  it('the drain deadline passes: logs what is left, goes on and completes the action', async () => {
    const { sim, master, worker, kubectlLog } = await cluster('deadline', { FAKE_KUBECTL_DRAIN_MS: '60000' });
    await terminating(worker);
    const controller = controllerLoop(sim, master);
    const result = await sim.run(worker, ['leave', '--drain-timeout', '2s']);
    const runs = await controller.stop();
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    // The master drains with the worker's deadline.
    assert.ok(
      runs.some((run) => run.logs.some((line) => /drain deadline \(2s\) passed/.test(String(line.msg)))),
    );
    const drain = byCommand(readKubectlLog(kubectlLog), 'drain', worker.privateDns);
    assert.notEqual(drain.exitCode, 0);
    resetOf(sim, worker);
    assert.equal(completedActions(), 1);
  });

  it('kubectl failing on the master: the lifecycle action is still completed, and the exit code says kubectl failed', async () => {
    const { sim, master, worker } = await cluster('kfail');
    await terminating(worker);
    const controller = controllerLoop(sim, master, { FAKE_KUBECTL_FAIL_ON: 'drain' });
    const failing = await sim.run(worker, ['leave']);
    await controller.stop();
    assert.equal(failing.exitCode, 10, failing.stderr.slice(-2000));
    assert.match(failing.error?.msg ?? '', /the control plane could not drain node .*kubectl drain/);
    assert.equal((await leaveRequest(sim, 'kfail', worker.instanceId))?.state, 'failed');
    assert.equal(completedActions(), 1);
    resetOf(sim, worker);
  });

  it('--watch leaves once IMDS says the instance is Terminated; --only-if-terminating stays on a reboot', async () => {
    const { sim, master, worker } = await cluster('watch');
    await group([worker]);
    const controller = controllerLoop(sim, master);
    const stays = await sim.run(worker, ['leave', '--only-if-terminating']);
    assert.equal(stays.exitCode, 0, stays.stderr.slice(-2000));
    assert.match(stays.stdout, /not being terminated/);
    assert.equal(sim.invocations().filter((c) => c.command === 'reset').length, 0);

    worker.imds.setLifecycleState('InService');
    const watching = sim.spawn(worker, ['leave', '--watch', '--poll-interval', '200ms']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(watching.child.exitCode, null, 'still watching while InService');
    assert.equal(sim.invocations().filter((c) => c.command === 'reset').length, 0);
    stub.openAction(GROUP, 'kboot-leave', worker.instanceId);
    worker.imds.setLifecycleState('Terminated');
    const result = await watching.result;
    await controller.stop();
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    resetOf(sim, worker);
    assert.equal(completedActions(), 1);
  });

  it('--watch leaves on a spot terminate notice, not on a spot stop', async () => {
    const { sim, master, worker } = await cluster('spot');
    await group([worker]);
    const controller = controllerLoop(sim, master);
    const watching = sim.spawn(worker, ['leave', '--watch', '--poll-interval', '200ms']);
    const inTwoMinutes = new Date(Date.now() + 120_000).toISOString().replace(/\.\d+Z$/, 'Z');
    worker.imds.setSpotAction({ action: 'stop', time: inTwoMinutes });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(watching.child.exitCode, null, 'a spot stop brings the instance back: it stays');
    stub.openAction(GROUP, 'kboot-leave', worker.instanceId);
    worker.imds.setSpotAction({ action: 'terminate', time: inTwoMinutes });
    const result = await watching.result;
    await controller.stop();
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.ok(result.logs.some((line) => /spot interruption notice: terminate/.test(String(line.reason))));
    resetOf(sim, worker);
  });

  it('publishes no node-leave credential: no secret value, no ServiceAccount, no token', async () => {
    const { sim, master, kubectlLog, apiDir } = await cluster('nocred');
    const rotated = await sim.run(master, ['rotate'], {
      env: { KBOOT_CLOCK_OFFSET_MS: String(30 * 3_600_000) },
    });
    assert.equal(rotated.exitCode, 0, rotated.stderr.slice(-2000));
    const secrets = testSecrets(moto);
    try {
      await assert.rejects(
        secrets.send(
          new GetSecretValueCommand({ SecretId: 'kboot/nocred/node-leave', VersionStage: 'AWSCURRENT' }),
        ),
        /ResourceNotFound|can't find|not find/i,
      );
    } finally {
      secrets.destroy();
    }
    assert.equal(
      storedObject(apiDir, { kind: 'ServiceAccount', name: 'kboot-node-leave', namespace: 'kube-system' }),
      undefined,
    );
    assert.ok(!readKubectlLog(kubectlLog).some((entry) => entry.command === 'create token'));
  });

  it('--dry-run prints the named steps in order and changes nothing', async () => {
    const { sim, master } = await cluster('dry');
    const result = await sim.run(master, ['leave', '--dry-run']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const order = [
      'admin.conf',
      'drain node',
      'etcd member',
      'run kubeadm reset',
      'delete the Node',
      'member record',
    ];
    let at = -1;
    for (const word of order) {
      const next = result.stdout.indexOf(word);
      assert.ok(next > at, `${word} after the previous step:\n${result.stdout}`);
      at = next;
    }
    assert.equal(sim.invocations().filter((c) => c.command === 'reset').length, 0);
    assert.ok(readdirSync(path.join(master.root, 'etc/kubernetes')).includes('admin.conf'));
  });
});
