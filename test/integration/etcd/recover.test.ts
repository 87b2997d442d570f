/**
 * `kboot etcd recover` against a real 3-member TLS etcd (Debian's etcd, certificates of the
 * simulated cluster's etcd CA) with the built binary: refused while the others answer or quorum is
 * there; with two members stopped, the survivor becomes a one-member cluster holding every key,
 * the dead members' records are removed, and a new member can then join. The test plays the
 * kubelet: it restarts the survivor's etcd whenever kubeadm's manifest changes, with
 * --force-new-cluster when the manifest has it.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import { systemClock } from '../../../src/core/clock.js';
import { clientConfig } from '../../support/aws.js';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { fakeKubelet } from '../../support/fake-kubelet.js';
import { type Moto, startMoto } from '../../support/moto.js';

const missing = etcdMissing();
const CLUSTER = 'recover';
const b64 = (text: string) => Buffer.from(text).toString('base64');

interface RecoverJson {
  outcome: string;
  member: string | null;
  dropped: string[];
  removedRecords: string[];
}

describe('kboot etcd recover (real 3-member TLS etcd)', { skip: missing }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let etcd: EtcdCluster;
  let dynamodb: DynamoDBClient;
  let stopKubelet = () => {};
  const names = { b: 'ip-10-0-2-20.ec2.internal', c: 'ip-10-0-3-30.ec2.internal' };

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, { name: CLUSTER, nodeConfig: 'apiEndpoint: recover-api.example.com\n' });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const booted = await sim.run(master);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    etcd = await EtcdCluster.start([master.privateDns, names.b, names.c], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    const survivor = etcd.node(master.privateDns);
    master.env.KBOOT_ETCD_ENDPOINTS = survivor.clientUrl;
    master.env.KBOOT_POLL_MS = '100';
    for (let i = 0; i < 20; i += 1) {
      await etcd.post(survivor.clientUrl, '/v3/kv/put', { key: b64(`/registry/k${i}`), value: b64(`v${i}`) });
    }
    dynamodb = new DynamoDBClient(clientConfig(moto));
    const store = new DynamoDbClusterStore({ dynamodb, tableName: sim.table, clock: systemClock });
    for (const [id, nodeName] of [
      ['i-0b0000000000000b', names.b],
      ['i-0c0000000000000c', names.c],
    ] as const) {
      await store.recordMember(CLUSTER, {
        instanceId: id,
        role: 'control-plane',
        joinedAt: new Date().toISOString(),
        nodeName,
      });
    }
    // The kubelet: the survivor's etcd restarts when its manifest changes.
    stopKubelet = fakeKubelet(
      path.join(master.root, 'etc', 'kubernetes', 'manifests', 'etcd.yaml'),
      etcd,
      master.privateDns,
    );
  });

  after(async () => {
    stopKubelet();
    dynamodb?.destroy();
    await etcd?.stop();
    await sim?.stop();
    await moto?.stop();
  });

  const recover = (args: string[] = []) =>
    sim.run(master, ['etcd', 'recover', '--output', 'json', ...args], { timeoutMs: 90_000 });

  it('refuses (exit 2) while the other members answer, and while quorum is there', async () => {
    const all = await recover(['--dry-run']);
    assert.equal(all.exitCode, 2, all.stderr.slice(-2000));
    assert.match(all.stderr, /still answer/);
    await etcd.stopMember(names.c);
    const quorum = await recover();
    assert.equal(quorum.exitCode, 2, quorum.stderr.slice(-2000));
    assert.match(quorum.stderr, /still answer/);
    const manifest = readFileSync(path.join(master.root, 'etc/kubernetes/manifests/etcd.yaml'), 'utf8');
    assert.ok(!manifest.includes('--force-new-cluster'), 'nothing changed');
  });

  it('with two members gone: the survivor becomes a one-member cluster with every key, records cleaned', async () => {
    await etcd.stopMember(names.b);
    await etcd.waitLeaderless(master.privateDns);
    const plan = await recover(['--dry-run']);
    assert.equal(plan.exitCode, 0, plan.stderr.slice(-2000));
    assert.match(plan.stdout, /force-new-cluster/);
    const result = await recover();
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const out = JSON.parse(result.stdout) as RecoverJson;
    assert.equal(out.outcome, 'recovered');
    assert.deepEqual([...out.dropped].sort(), [names.b, names.c].sort());
    assert.deepEqual([...out.removedRecords].sort(), ['i-0b0000000000000b', 'i-0c0000000000000c']);
    const manifest = readFileSync(path.join(master.root, 'etc/kubernetes/manifests/etcd.yaml'), 'utf8');
    assert.ok(!manifest.includes('--force-new-cluster'), 'the flag is gone from the manifest');
    assert.deepEqual(await etcd.memberNames(), [master.privateDns]);
    const survivor = etcd.node(master.privateDns).clientUrl;
    const got = (await etcd.post(survivor, '/v3/kv/range', {
      key: b64('/registry/'),
      range_end: b64('/registry0'),
    })) as { count?: string };
    assert.equal(got.count, '20');
    const again = await recover();
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    assert.equal((JSON.parse(again.stdout) as RecoverJson).outcome, 'nothing');
  });

  it('a new member then joins the recovered cluster', async () => {
    const survivor = etcd.node(master.privateDns).clientUrl;
    await etcd.addMember('ip-10-0-4-40.ec2.internal', survivor);
    await etcd.waitHealthy(2);
    const want = [master.privateDns, 'ip-10-0-4-40.ec2.internal'].sort();
    // A member shows its name once it has started and published it.
    const deadline = Date.now() + 20_000;
    let names = await etcd.memberNames();
    while (names.join() !== want.join() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      names = await etcd.memberNames();
    }
    assert.deepEqual(names, want);
  });
});
