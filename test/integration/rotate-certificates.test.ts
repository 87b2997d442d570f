/**
 * `kboot rotate` and the member's kubeadm certificates, end to end: the built binary, moto and
 * the fake kubeadm, whose certificates are issued at init for a year and whose clock moves with
 * kboot's (KBOOT_CLOCK_OFFSET_MS). At day 100 the member reports its expiry and renews nothing; at
 * day 340 it renews (kubeadm certs renew all), restarts its static Pods by moving their manifests
 * out and back, and reports the new expiry; `kboot status` shows it.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readClusterItem } from '../support/aws.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { type Moto, startMoto } from '../support/moto.js';

const DAY = 24 * 3_600_000;
const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';

function at(day: number): { env: Record<string, string> } {
  return { env: { KBOOT_CLOCK_OFFSET_MS: String(day * DAY), KBOOT_STATIC_POD_WAIT_MS: '200' } };
}

function apiserverNotAfterMs(master: SimInstance): number {
  const pem = readFileSync(path.join(master.root, 'etc/kubernetes/pki/apiserver.crt'));
  return Date.parse(new X509Certificate(pem).validTo);
}

describe('kboot rotate: kubeadm certificates', () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;

  before(async () => {
    moto = await startMoto();
    sim = new SimCluster(moto, { name: 'certs', nodeConfig: NODE_CONFIG });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const boot = await sim.run(master);
    assert.equal(boot.exitCode, 0, boot.stderr.slice(-1500));
  });
  after(async () => {
    await sim.stop();
    await moto.stop();
  });

  it('at day 100: reports the expiry in the member item, renews nothing', async () => {
    const issuedNotAfterMs = apiserverNotAfterMs(master);
    const result = await sim.run(master, ['rotate', '--output', 'json'], at(100));
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    const json = JSON.parse(result.stdout);
    assert.equal(json.certificates.action, 'kept');
    assert.ok(!sim.invocations().some((i) => i.command?.startsWith('certs renew')));
    assert.equal(apiserverNotAfterMs(master), issuedNotAfterMs);
    const item = await readClusterItem(moto, 'certs', `member#${master.instanceId}`);
    const reportedMs = Date.parse(String(item?.certificatesExpireAt));
    const daysLeft = (reportedMs - Date.now()) / DAY;
    assert.ok(daysLeft > 364 && daysLeft <= 365, `${daysLeft} days left from the real now`);
  });

  it('at day 340: renews, restarts the static Pods, reports a year from day 340; status shows it', async () => {
    const result = await sim.run(master, ['rotate', '--output', 'json'], at(340));
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    const json = JSON.parse(result.stdout);
    assert.equal(json.certificates.action, 'renewed');
    assert.match(
      result.stderr,
      /renewing this member's kubeadm certificates: \S+ expires first, in 2[45] day\(s\)/,
    );
    assert.match(result.stderr, /restarted this member's control plane with its renewed certificates/);
    const renews = sim.invocations().filter((i) => i.command === 'certs renew all');
    assert.equal(renews.length, 1);
    assert.equal(renews[0]?.exitCode, 0);

    const leftAfterDay340 = (apiserverNotAfterMs(master) - Date.now()) / DAY - 340;
    assert.ok(leftAfterDay340 > 364, `${leftAfterDay340} days left at day 340`);
    assert.deepEqual(readdirSync(path.join(master.root, 'etc/kubernetes/manifests')).sort(), [
      'etcd.yaml',
      'kube-apiserver.yaml',
      'kube-controller-manager.yaml',
      'kube-scheduler.yaml',
    ]);
    assert.deepEqual(readdirSync(path.join(master.root, 'var/lib/kboot/parked-manifests')), []);

    const item = await readClusterItem(moto, 'certs', `member#${master.instanceId}`);
    const reportedLeft = (Date.parse(String(item?.certificatesExpireAt)) - Date.now()) / DAY - 340;
    assert.ok(reportedLeft > 364, `reported ${reportedLeft} days left at day 340`);

    const status = await sim.run(master, ['status', '--cluster', 'certs'], at(340));
    assert.equal(status.exitCode, 0, status.stderr.slice(-1500));
    assert.match(
      status.stdout,
      new RegExp(`${master.instanceId} control-plane joined .*; certificates expire in 36[45]d`),
    );
  });
});
