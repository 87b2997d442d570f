/**
 * `kboot leave` end to end: the built binary, moto (groups, hooks, DynamoDB, Secrets Manager),
 * the lifecycle stub (the two Auto Scaling actions moto lacks, everything else forwarded to
 * moto), one IMDS server and root per instance, the fake kubeadm and the recording kubectl, and
 * for a master a real three-member etcd (Debian's etcd-server) signed by the cluster's etcd CA.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DeleteSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { testDynamo, testSecrets } from '../support/aws.js';
import { startAwsErrorStub } from '../support/aws-stub.js';
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

  async function nodeLeaveToken(cluster: string): Promise<string> {
    const secrets = testSecrets(moto);
    try {
      const out = await secrets.send(
        new GetSecretValueCommand({ SecretId: `kboot/${cluster}/node-leave`, VersionStage: 'AWSCURRENT' }),
      );
      const value = JSON.parse(out.SecretString as string) as { kubeconfig: string };
      const token = /token: (\S+)/.exec(value.kubeconfig)?.[1];
      assert.ok(token !== undefined && token.length > 20, 'the node-leave kubeconfig holds a token');
      return token;
    } finally {
      secrets.destroy();
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

  it('a worker drains, resets, deletes its Node and completes the lifecycle action, with the node-leave credential', async () => {
    const { sim, worker, kubectlLog, apiDir } = await cluster('wleave', { FAKE_KUBECTL_DRAIN_MS: '3500' });
    const token = await terminating(worker);
    const result = await sim.run(worker, ['leave', '--heartbeat-interval', '1s', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const report = JSON.parse(result.stdout) as {
      outcome: string;
      autoScalingGroup: string;
      steps: { step: string; outcome: string }[];
    };
    assert.equal(report.outcome, 'left');
    assert.equal(report.autoScalingGroup, GROUP);

    const log = readKubectlLog(kubectlLog);
    const drain = byCommand(log, 'drain', worker.privateDns);
    assert.equal(drain.exitCode, 0);
    for (const flag of ['ignore-daemonsets', 'delete-emptydir-data'])
      assert.ok(flag in (drain.drain?.flags ?? {}), flag);
    assert.equal(drain.drain?.timeoutMs, 300_000);
    const del = byCommand(log, 'delete', worker.privateDns);
    const reset = resetOf(sim, worker);
    assert.deepEqual(reset.argv, ['reset', '-f']);
    const completes = stub.calls.filter((call) => call.action === 'CompleteLifecycleAction');
    assert.equal(completes.length, 1);
    assert.equal(completes[0]?.result, 'CONTINUE');
    assert.equal(completes[0]?.answer, 'ok');
    assert.deepEqual(stub.openActions(), [], `the action (token ${token}) is no longer open`);
    // In order: drain, kubeadm reset, Node deleted, lifecycle action completed.
    assert.ok(drain.endedAtMs <= reset.startedAtMs, 'drain before reset');
    assert.ok(reset.endedAtMs <= del.startedAtMs, 'reset before the Node is deleted');
    assert.ok(del.endedAtMs <= (completes[0]?.atMs ?? 0), 'Node deleted before the action completes');
    assert.equal(storedObject(apiDir, { kind: 'Node', name: worker.privateDns }), undefined);

    // Heartbeats while the (3.5 s) drain ran, and none after the action completed.
    const beats = stub.calls.filter((call) => call.action === 'RecordLifecycleActionHeartbeat');
    const during = beats.filter((beat) => beat.atMs >= drain.startedAtMs && beat.atMs <= drain.endedAtMs);
    assert.ok(during.length >= 2, `heartbeats during the drain: ${during.length}`);
    assert.ok(beats.every((beat) => beat.atMs <= (completes[0]?.atMs ?? 0)));

    // The node-leave kubeconfig, 0600, never admin.conf; no token in argv, logs or output.
    for (const entry of log.filter((e) => e.argv.includes(worker.privateDns))) {
      assert.match(entry.kubeconfig?.path ?? '', /var\/lib\/kboot\/leave\/node-leave\.conf$/);
      assert.equal(entry.kubeconfig?.mode, '0600');
    }
    // The credential the first master published at init, right after bootstrap (no rotate ran).
    const published = log.filter((entry) => entry.command === 'create token');
    assert.equal(published.length, 1);
    assert.ok((published[0]?.endedAtMs ?? Infinity) <= drain.startedAtMs);
    const secretToken = await nodeLeaveToken('wleave');
    assert.ok(!result.stderr.includes(secretToken) && !result.stdout.includes(secretToken));
    assert.ok(log.every((entry) => !entry.argv.join(' ').includes(secretToken)));
    assert.ok(
      !existsSync(path.join(worker.root, 'var/lib/kboot/leave/node-leave.conf')),
      'credential removed',
    );

    // A re-run does what is left: nothing but finding the action already completed.
    const again = await sim.run(worker, ['leave', '--output', 'json']);
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    const steps = (JSON.parse(again.stdout) as { steps: { step: string; outcome: string }[] }).steps;
    assert.equal(steps.find((s) => s.step === 'drain')?.outcome, 'skipped');
    assert.equal(steps.find((s) => s.step === 'complete-lifecycle-action')?.outcome, 'skipped');
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

  it('outside an Auto Scaling group: says so, skips the lifecycle steps, exits 0', async () => {
    const { sim, worker } = await cluster('noasg');
    const result = await sim.run(worker, ['leave', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.ok(result.logs.some((line) => /in no Auto Scaling group/.test(String(line.msg))));
    assert.equal(stub.calls.length, 0);
    const report = JSON.parse(result.stdout) as { autoScalingGroup: string | null };
    assert.equal(report.autoScalingGroup, null);
  });

  it('a group without the hook: says so and skips the lifecycle steps', async () => {
    const { sim, worker } = await cluster('nohook');
    await group([worker], false);
    const result = await sim.run(worker, ['leave']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.ok(result.logs.some((line) => /has no lifecycle hook kboot-leave/.test(String(line.msg))));
    assert.equal(stub.calls.length, 0);
  });

  it('Auto Scaling denied: the node still leaves the cluster, and exit 4 says what failed', async () => {
    const { sim, worker, kubectlLog } = await cluster('denied');
    const denying = await startAwsErrorStub(
      403,
      'AccessDenied',
      'not authorized to DescribeAutoScalingInstances',
    );
    try {
      const result = await sim.run(worker, ['leave'], {
        env: { AWS_ENDPOINT_URL_AUTO_SCALING: denying.endpoint },
      });
      assert.equal(result.exitCode, 4, result.stderr.slice(-2000));
      assert.match(result.error?.hint ?? '', /autoscaling:DescribeAutoScalingInstances/);
      byCommand(readKubectlLog(kubectlLog), 'drain', worker.privateDns);
      byCommand(readKubectlLog(kubectlLog), 'delete', worker.privateDns);
      resetOf(sim, worker);
    } finally {
      await denying.stop();
    }
  });

  it('the drain deadline passes: logs what is left, goes on and completes the action', async () => {
    const { sim, worker, kubectlLog } = await cluster('deadline', { FAKE_KUBECTL_DRAIN_MS: '60000' });
    await terminating(worker);
    const result = await sim.run(worker, ['leave', '--drain-timeout', '2s']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.ok(result.logs.some((line) => /drain deadline \(2s\) passed/.test(String(line.msg))));
    const drain = byCommand(readKubectlLog(kubectlLog), 'drain', worker.privateDns);
    assert.notEqual(drain.exitCode, 0);
    resetOf(sim, worker);
    assert.equal(completedActions(), 1);
  });

  it('kubectl failing or missing: the lifecycle action is still completed, and the exit code says kubectl failed', async () => {
    const { sim, worker } = await cluster('kfail');
    await terminating(worker);
    const failing = await sim.run(worker, ['leave'], { env: { FAKE_KUBECTL_FAIL_ON: 'drain' } });
    assert.equal(failing.exitCode, 10, failing.stderr.slice(-2000));
    assert.match(failing.error?.msg ?? '', /kubectl drain/);
    assert.equal(completedActions(), 1);
    resetOf(sim, worker);

    stub.openAction(GROUP, 'kboot-leave', worker.instanceId);
    const missing = await sim.run(worker, ['leave'], { env: { KBOOT_KUBECTL: '/nonexistent/kubectl' } });
    assert.equal(missing.exitCode, 10, missing.stderr.slice(-2000));
    assert.match(missing.error?.hint ?? '', /install kubectl/);
    assert.equal(completedActions(), 2);
  });

  it('no node-leave credential: the worker still resets and completes the action; exit 8 names the secret', async () => {
    const { sim, worker, kubectlLog } = await cluster('nocred');
    const secrets = testSecrets(moto);
    try {
      await secrets.send(
        new DeleteSecretCommand({ SecretId: 'kboot/nocred/node-leave', ForceDeleteWithoutRecovery: true }),
      );
    } finally {
      secrets.destroy();
    }
    await terminating(worker);
    const result = await sim.run(worker, ['leave']);
    assert.equal(result.exitCode, 8, result.stderr.slice(-2000));
    assert.match(result.error?.msg ?? '', /secret kboot\/nocred\/node-leave does not exist/);
    assert.match(result.error?.hint ?? '', /kboot rotate/);
    assert.ok(
      !readKubectlLog(kubectlLog).some((entry) => entry.argv.includes(worker.privateDns)),
      'no kubectl without a credential',
    );
    resetOf(sim, worker);
    assert.equal(completedActions(), 1);
  });

  it('--watch leaves once IMDS says the instance is Terminated; --only-if-terminating stays on a reboot', async () => {
    const { sim, worker } = await cluster('watch');
    await group([worker]);
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
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    resetOf(sim, worker);
    assert.equal(completedActions(), 1);
  });

  it('--watch leaves on a spot terminate notice, not on a spot stop', async () => {
    const { sim, worker } = await cluster('spot');
    await group([worker]);
    const watching = sim.spawn(worker, ['leave', '--watch', '--poll-interval', '200ms']);
    const inTwoMinutes = new Date(Date.now() + 120_000).toISOString().replace(/\.\d+Z$/, 'Z');
    worker.imds.setSpotAction({ action: 'stop', time: inTwoMinutes });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(watching.child.exitCode, null, 'a spot stop brings the instance back: it stays');
    stub.openAction(GROUP, 'kboot-leave', worker.instanceId);
    worker.imds.setSpotAction({ action: 'terminate', time: inTwoMinutes });
    const result = await watching.result;
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.ok(result.logs.some((line) => /spot interruption notice: terminate/.test(String(line.reason))));
    resetOf(sim, worker);
  });

  it('the first master publishes the node-leave credential at init; kboot rotate keeps it, and renews it with under 24 h left', async () => {
    const { sim, master, kubectlLog, apiDir } = await cluster('renew');
    const read = async (): Promise<{ expiresAt: string; token: string }> => {
      const secrets = testSecrets(moto);
      try {
        const out = await secrets.send(
          new GetSecretValueCommand({ SecretId: 'kboot/renew/node-leave', VersionStage: 'AWSCURRENT' }),
        );
        const value = JSON.parse(out.SecretString as string) as { expiresAt: string; kubeconfig: string };
        return { expiresAt: value.expiresAt, token: /token: (\S+)/.exec(value.kubeconfig)?.[1] ?? '' };
      } finally {
        secrets.destroy();
      }
    };
    const first = await read();
    const leftMs = Date.parse(first.expiresAt) - Date.now();
    assert.ok(leftMs > 47 * 3_600_000 && leftMs <= 48 * 3_600_000, `a 48 h token: ${leftMs} ms left`);
    assert.ok(
      storedObject(apiDir, { kind: 'ServiceAccount', name: 'kboot-node-leave', namespace: 'kube-system' }),
    );
    assert.ok(
      storedObject(apiDir, {
        group: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'kboot:node-leave',
      }),
    );
    const tokens = () => readKubectlLog(kubectlLog).filter((entry) => entry.command === 'create token');
    assert.equal(tokens().length, 1);
    assert.equal(tokens()[0]?.token?.expirationSeconds, 48 * 3600);
    assert.ok(tokens().every((entry) => entry.kubeconfig?.path.endsWith('/etc/kubernetes/admin.conf')));

    const at = (hours: number) => ({ env: { KBOOT_CLOCK_OFFSET_MS: String(hours * 3_600_000) } });
    const kept = await sim.run(master, ['rotate'], at(20));
    assert.equal(kept.exitCode, 0, kept.stderr.slice(-2000));
    assert.deepEqual(await read(), first, '28 h left: kept');
    const renewed = await sim.run(master, ['rotate'], at(30));
    assert.equal(renewed.exitCode, 0, renewed.stderr.slice(-2000));
    const second = await read();
    assert.notEqual(second.token, first.token);
    assert.ok(Date.parse(second.expiresAt) > Date.parse(first.expiresAt) + 29 * 3_600_000);
    assert.equal(tokens().length, 2);
    for (const run of [kept, renewed])
      assert.ok(!run.stderr.includes(first.token) && !run.stderr.includes(second.token));
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
