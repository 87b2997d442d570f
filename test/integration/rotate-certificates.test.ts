/**
 * `kboot rotate` and the member's kubeadm certificates, end to end: the built binary, moto and
 * the fake kubeadm, whose certificates are issued at init for a year and whose clock moves with
 * kboot's (KBOOT_CLOCK_OFFSET_MS). At day 100 the member reports its expiry and renews nothing; at
 * day 340 it renews (kubeadm certs renew all), restarts its static Pods by moving their manifests
 * out and back, and reports the new expiry; `kboot status` shows it; and it republishes its
 * renewed admin.conf, so `kboot kubeconfig` hands out the renewed client certificate.
 */

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { readClusterItem } from '../support/aws.js';
import { callNames, readAwsCalls } from '../support/aws-calls.js';
import { runKboot } from '../support/cli.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { type Moto, startMoto } from '../support/moto.js';

const DAY = 24 * 3_600_000;
const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';

function at(day: number): { env: Record<string, string> } {
  return { env: { KBOOT_CLOCK_OFFSET_MS: String(day * DAY), KBOOT_STATIC_POD_WAIT_MS: '200' } };
}

/** The base64 client certificate of a kubeconfig's only (or first) user. */
function clientCertificateData(kubeconfig: string): string {
  const config = YAML.parse(kubeconfig) as { users: { user: Record<string, string> }[] };
  return config.users[0]?.user['client-certificate-data'] as string;
}

function notAfterMs(certificateData: string): number {
  return Date.parse(new X509Certificate(Buffer.from(certificateData, 'base64')).validTo);
}

function apiserverNotAfterMs(master: SimInstance): number {
  const pem = readFileSync(path.join(master.root, 'etc/kubernetes/pki/apiserver.crt'));
  return Date.parse(new X509Certificate(pem).validTo);
}

describe('kboot rotate: kubeadm certificates', () => {
  let moto: Moto;
  let sim: SimCluster;
  let master: SimInstance;
  let home: string;

  /** `kboot kubeconfig --print` from an operator's laptop: the admin.conf version the record names. */
  async function operatorKubeconfig(): Promise<string> {
    const result = await runKboot(['kubeconfig', '--cluster', 'certs', '--print'], {
      env: { ...moto.awsEnv(), HOME: home, KBOOT_TABLE: sim.table, KUBECONFIG: undefined },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    return result.stdout;
  }

  before(async () => {
    moto = await startMoto();
    home = mkdtempSync(path.join(tmpdir(), 'kboot-certs-home-'));
    sim = new SimCluster(moto, { name: 'certs', nodeConfig: NODE_CONFIG });
    await sim.createTable();
    master = await sim.addInstance('control-plane');
    const boot = await sim.run(master);
    assert.equal(boot.exitCode, 0, boot.stderr.slice(-1500));
  });
  after(async () => {
    await sim.stop();
    await moto.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('at day 100: reports the expiry in the member item, renews nothing', async () => {
    const issuedNotAfterMs = apiserverNotAfterMs(master);
    const trace = path.join(sim.dir, 'rotate-day-100-calls.jsonl');
    const result = await sim.run(master, ['rotate', '--output', 'json'], {
      env: { ...at(100).env, KBOOT_TRACE_AWS_CALLS: trace },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    const json = JSON.parse(result.stdout);
    assert.equal(json.certificates.action, 'kept');
    // The first master stamped the published admin.conf's expiry: judged from the record, unread.
    assert.equal(json.adminConf.action, 'kept');
    assert.equal(json.adminConf.checkedFrom, 'record');
    const secretReads = callNames(readAwsCalls(trace)).filter(
      (call) => call === 'secretsmanager:GetSecretValue',
    );
    assert.equal(secretReads.length, 2, 'the join and control-plane secrets only');
    assert.ok(!sim.invocations().some((i) => i.command?.startsWith('certs renew')));
    assert.equal(apiserverNotAfterMs(master), issuedNotAfterMs);
    assert.doesNotMatch(result.stderr, /republished admin\.conf/);
    const item = await readClusterItem(moto, 'certs', `member#${master.instanceId}`);
    const reportedMs = Date.parse(String(item?.certificatesExpireAt));
    const daysLeft = (reportedMs - Date.now()) / DAY;
    assert.ok(daysLeft > 364 && daysLeft <= 365, `${daysLeft} days left from the real now`);
  });

  it('at day 340: renews, restarts the static Pods, reports a year from day 340; status shows it', async () => {
    const issuedCertificate = clientCertificateData(await operatorKubeconfig());
    const result = await sim.run(master, ['rotate', '--output', 'json'], at(340));
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    const json = JSON.parse(result.stdout);
    assert.equal(json.certificates.action, 'renewed');
    assert.equal(json.adminConf.action, 'republished');
    assert.ok(
      (Date.parse(json.adminConf.expiresAt) - Date.now()) / DAY - 340 > 364,
      json.adminConf.expiresAt,
    );
    assert.match(
      result.stderr,
      /renewing this member's kubeadm certificates: \S+ expires first, in 2[45] day\(s\)/,
    );
    assert.match(result.stderr, /restarted this member's control plane with its renewed certificates/);
    // Its own API server answered before the member item said renewed.
    const probes = readFileSync(sim.kubectlLog, 'utf8')
      .split('\n')
      .filter((line) => line.includes('--raw=/readyz'))
      .map((line) => JSON.parse(line) as { argv: string[]; exitCode: number });
    assert.equal(probes.length, 1);
    assert.ok(
      probes[0]?.argv.includes(`--server=https://${master.privateIp}:6443`),
      probes[0]?.argv.join(' '),
    );
    assert.equal(probes[0]?.exitCode, 0);
    assert.match(result.stderr, /this member's API server answers \/readyz/);
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
      new RegExp(`${master.instanceId} control-plane v1\\.31\\.2 joined .*; certificates expire in 36[45]d`),
    );
    assert.match(status.stdout, /join material .*; admin\.conf expires in 36[45]d/);

    // The published admin.conf follows: `kboot kubeconfig` hands out the renewed client certificate.
    assert.match(
      result.stderr,
      /republished admin\.conf to kboot\/certs\/admin\.conf: its client certificate expires in 36[45] day\(s\)/,
    );
    const handedOut = clientCertificateData(await operatorKubeconfig());
    const onMaster = clientCertificateData(
      readFileSync(path.join(master.root, 'etc/kubernetes/admin.conf'), 'utf8'),
    );
    assert.notEqual(handedOut, issuedCertificate, 'not the certificate issued at init');
    assert.equal(handedOut, onMaster, "the master's renewed admin.conf client certificate");
    const handedOutLeft = (notAfterMs(handedOut) - Date.now()) / DAY - 340;
    assert.ok(handedOutLeft > 364, `the handed-out certificate has ${handedOutLeft} days left at day 340`);
    assert.ok((notAfterMs(issuedCertificate) - Date.now()) / DAY - 340 < 30, 'the issued one was due');
    // kboot kubeconfig reads the version the record names: the record was stamped with the new one.
  });

  it('at day 345: the published admin.conf is fresh, nothing is republished', async () => {
    const before = clientCertificateData(await operatorKubeconfig());
    const result = await sim.run(master, ['rotate', '--output', 'json'], at(345));
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    assert.equal(
      JSON.parse(result.stdout).adminConf.checkedFrom,
      'record',
      'the republished one was stamped',
    );
    assert.equal(JSON.parse(result.stdout).adminConf.action, 'kept');
    assert.doesNotMatch(result.stderr, /republished admin\.conf/);
    assert.equal(clientCertificateData(await operatorKubeconfig()), before);
  });
});
