/**
 * SIGTERM at every change step of `kboot etcd recover`, to the built binary, with a real TLS etcd
 * that lost quorum (the survivor and two stopped members; the test plays the kubelet). Each case:
 * grow the recovered cluster back to three members, stop two, run recover and SIGTERM it as the
 * step starts; the stopped run exits 130 (or 0 when it had already finished), leaves kubeadm's
 * manifest or the flagged one with its saved copy (0600), never anything else; the next run
 * finishes the recovery and every key is still there.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimCluster, type SimInstance } from '../../support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { fakeKubelet } from '../../support/fake-kubelet.js';
import { type Moto, startMoto } from '../../support/moto.js';

const missing = etcdMissing();
const STEPS = [
  'save-manifest',
  'force-new-cluster',
  'wait-one-member',
  'drop-flag',
  'member-records',
  'forget-saved-manifest',
];
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('SIGTERM at each step of kboot etcd recover', { skip: missing, concurrency: 1 }, () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let etcd: EtcdCluster;
  let stopKubelet = () => {};
  let manifestPath = '';
  let savedPath = '';
  let kubeadmManifest = '';
  let grown = 0;

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, {
      name: 'term-recover',
      nodeConfig: 'apiEndpoint: term-recover.example.com\n',
    });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const booted = await sim.run(master);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    etcd = await EtcdCluster.start([master.privateDns], {
      certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
      keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
    });
    const survivor = etcd.node(master.privateDns).clientUrl;
    master.env.KBOOT_ETCD_ENDPOINTS = survivor;
    master.env.KBOOT_POLL_MS = '100';
    await etcd.post(survivor, '/v3/kv/put', { key: b64('/registry/kept'), value: b64('yes') });
    manifestPath = path.join(master.root, 'etc', 'kubernetes', 'manifests', 'etcd.yaml');
    savedPath = path.join(master.root, 'var', 'lib', 'kboot', 'etcd-recover', 'etcd.yaml');
    kubeadmManifest = readFileSync(manifestPath, 'utf8');
    stopKubelet = fakeKubelet(manifestPath, etcd, master.privateDns);
  });

  after(async () => {
    stopKubelet();
    await etcd?.stop();
    await sim?.stop();
    await moto?.stop();
  });

  /** Two new members join the survivor, then both stop: quorum is lost again. */
  async function loseQuorum(): Promise<void> {
    const survivor = etcd.node(master.privateDns).clientUrl;
    const added: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      grown += 1;
      const name = `peer-${grown}`;
      await etcd.addMember(name, survivor);
      await etcd.waitHealthy(i + 2);
      added.push(name);
    }
    for (const name of added) await etcd.stopMember(name);
    await etcd.waitLeaderless(master.privateDns);
  }

  for (const step of STEPS) {
    it(`at ${step}: exit 130 (or 0 when done), a consistent manifest, and the next run finishes`, async () => {
      await loseQuorum();
      const running = sim.spawn(master, ['etcd', 'recover', '--output', 'json'], {
        timeoutMs: 90_000,
        onStderrLine: (line) => {
          if (!line.startsWith('{')) return;
          const parsed = JSON.parse(line) as { phase?: string; step?: string; flow?: string };
          if (parsed.phase === 'run' && parsed.step === step && parsed.flow === 'etcd-recover') {
            running.child.kill('SIGTERM');
          }
        },
      });
      const stopped = await running.result;
      assert.ok(stopped.exitCode === 130 || stopped.exitCode === 0, stopped.stderr.slice(-3000));
      if (stopped.exitCode === 130) assert.match(stopped.error?.msg ?? '', /^interrupted by SIGTERM/);
      const manifest = readFileSync(manifestPath, 'utf8');
      if (manifest !== kubeadmManifest) {
        // Only the flag added, and kubeadm's own kept beside it for the next run.
        assert.equal(manifest.includes('--force-new-cluster'), true, manifest);
        assert.equal(readFileSync(savedPath, 'utf8'), kubeadmManifest);
      }
      if (existsSync(savedPath)) assert.equal(statSync(savedPath).mode & 0o777, 0o600);

      const again = await sim.run(master, ['etcd', 'recover', '--output', 'json'], { timeoutMs: 90_000 });
      assert.equal(again.exitCode, 0, again.stderr.slice(-3000));
      assert.equal(readFileSync(manifestPath, 'utf8'), kubeadmManifest);
      assert.equal(existsSync(savedPath), false);
      assert.deepEqual(await etcd.memberNames(), [master.privateDns]);
      const got = (await etcd.post(etcd.node(master.privateDns).clientUrl, '/v3/kv/range', {
        key: b64('/registry/kept'),
      })) as { kvs?: { value: string }[] };
      assert.equal(Buffer.from(got.kvs?.[0]?.value ?? '', 'base64').toString(), 'yes');
    });
  }
});
