/**
 * Post-init addons end to end through the built binary, with the recording kubectl whose API
 * server is the fake kubeadm's simulated cluster: a first master applies Cilium, the AWS
 * cloud-controller-manager and the addons.d files in that order, each through stdin with the
 * admin kubeconfig (0600); replaying kboot's applies changes nothing; a rejected addon leaves the
 * cluster uninitialized (reset, failure recorded, lease released, exit 10, one line naming the
 * addon and its file); joiners run their kubelet with cloud-provider external exactly when the
 * cluster has the cloud-controller-manager.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { parseAllDocuments } from 'yaml';
import { testDynamo } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { SimCluster, SimInstance } from '../../support/cluster-sim.js';
import { fakeKubectlPath, type KubectlInvocation, readKubectlLog } from '../../support/kubectl-log.js';

const APPLY = ['apply', '--server-side', '--field-manager=kboot', '-f', '-'];
const ADDONS_CONFIG =
  'apiEndpoint: api.example.com\npodCidr: 10.100.0.0/16\naddons: { cni: cilium, cloudController: true }\n';

describe('boot flows: post-init addons', () => {
  const boot = useBootSuite();
  const moto = boot.moto;

  function cluster(name: string, nodeConfig: string, env: Record<string, string> = {}): Promise<SimCluster> {
    return boot.cluster({ name, nodeConfig, env });
  }

  async function readItem(name: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: 'kboot',
          Key: { pk: { S: `cluster#${name}` }, sk: { S: sk } },
          ConsistentRead: true,
        }),
      );
      return out.Item === undefined ? undefined : unmarshall(out.Item);
    } finally {
      dynamodb.destroy();
    }
  }

  /** A failed init: kubeadm reset ran, the lease released, uninitialized, the failure recorded at `step`, no init config left. */
  async function assertFailedCleanly(sim: SimCluster, master: SimInstance, step: string): Promise<void> {
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset'),
      'kubeadm reset ran',
    );
    const lock = await readItem(sim.name, 'lock#bootstrap');
    assert.equal(lock?.owner, undefined, 'the lease was released');
    const record = await readItem(sim.name, 'meta');
    assert.equal(record?.initialized, undefined);
    const lastFailure = record?.lastFailure as { step: string; message: string } | undefined;
    assert.equal(lastFailure?.step, step);
    assert.match(lastFailure?.message ?? '', /injected by FAKE_KUBECTL_FAIL_ON/);
    assert.ok(
      !existsSync(path.join(master.root, 'var/lib/kboot/kubeadm/init.yaml')),
      'the config with secrets was removed',
    );
  }

  function addonsDir(instance: SimInstance, files: Record<string, string>): void {
    const dir = path.join(instance.root, 'etc/kboot/addons.d');
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  }

  /** kboot's addon applies (server-side). */
  function applies(sim: SimCluster): KubectlInvocation[] {
    return readKubectlLog(sim.kubectlLog).filter(
      (call) => call.command === 'apply' && call.argv.includes('--server-side'),
    );
  }

  /** The removal of kubeadm's auto-approval of node client certificates (after init, and by approve-csrs). */
  function isAutoApprovalRemoval(call: KubectlInvocation): boolean {
    return call.command === 'delete' && call.argv.includes('kubeadm:node-autoapprove-bootstrap');
  }

  /**
   * The kubectl calls besides the addon applies and the removal of kubeadm's auto-approval (init
   * makes none: no credential is published).
   */
  function otherCalls(sim: SimCluster): string[] {
    return readKubectlLog(sim.kubectlLog)
      .filter((call) => !call.argv.includes('--server-side') && !isAutoApprovalRemoval(call))
      .map((call) => `${call.command} ${kinds(call).join(',')}`.trim());
  }

  function kinds(call: KubectlInvocation | undefined): string[] {
    return (call?.objects ?? []).map((o) => `${o.kind}/${o.name}`);
  }

  /** kubeletExtraArgs of the kubeadm config a command ran with, as name → value. */
  function kubeletArgs(sim: SimCluster, command: 'init' | 'join', nodeName: string): Record<string, string> {
    const call = sim
      .invocations()
      .find((i) => i.command === command && i.exitCode === 0 && i.config?.text.includes(nodeName));
    assert.ok(call?.config, `kubeadm ${command} ran for ${nodeName}`);
    const doc = parseAllDocuments(call.config.text)
      .map((d) => d.toJS() as { kind?: string; nodeRegistration?: { kubeletExtraArgs?: unknown } })
      .find((d) => d?.kind === (command === 'init' ? 'InitConfiguration' : 'JoinConfiguration'));
    const args = doc?.nodeRegistration?.kubeletExtraArgs;
    if (args === undefined) return {};
    return Array.isArray(args)
      ? Object.fromEntries((args as { name: string; value: string }[]).map((a) => [a.name, a.value]))
      : (args as Record<string, string>);
  }

  it('applies Cilium, the cloud-controller-manager and addons.d in order, via stdin with admin.conf; replaying changes nothing', async () => {
    const sim = await cluster('addons', ADDONS_CONFIG);
    const master = await sim.addInstance('control-plane');
    addonsDir(master, {
      // A custom resource whose CRD is not installed: the API server rejects it.
      '20-quota.yaml':
        'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: app, namespace: team-a }\n',
      '10-team.yml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n',
      'README.md': 'not a manifest',
      '05-empty.yaml': '# nothing yet\n',
    });
    const result = await sim.run(master, ['bootstrap-master', '--output', 'json']);
    assert.equal(result.exitCode, 10, result.stderr.slice(-2000));
    assert.match(
      result.error?.msg ?? '',
      /^addon addons\.d\/20-quota\.yaml \(\/etc\/kboot\/addons\.d\/20-quota\.yaml\) was not applied: kubectl apply exited 1: error: resource mapping not found .*no matches for kind "ServiceMonitor" in version "monitoring\.coreos\.com\/v1"/,
    );
    assert.match(result.error?.hint ?? '', /fix or remove \/etc\/kboot\/addons\.d\/20-quota\.yaml/);

    writeFileSync(
      path.join(master.root, 'etc/kboot/addons.d/20-quota.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: quota, namespace: team-a }\ndata: { pods: "10" }\n',
    );
    const before = applies(sim).length;
    const retry = await sim.run(master, ['bootstrap-master', '--output', 'json']);
    assert.equal(retry.exitCode, 0, retry.stderr.slice(-2000));
    assert.equal(JSON.parse(retry.stdout).outcome, 'initialized');

    const calls = applies(sim).slice(before);
    assert.equal(calls.length, 4, 'cilium, cloud controller, two addons.d files (the empty one skipped)');
    // No credential for workers is published (a worker's leave is drained by the control plane).
    assert.deepEqual(otherCalls(sim), []);
    assert.ok(readKubectlLog(sim.kubectlLog).some(isAutoApprovalRemoval), "kubeadm's auto-approval removed");
    for (const call of calls) {
      assert.deepEqual(call.argv, [
        '--kubeconfig',
        path.join(master.root, 'etc/kubernetes/admin.conf'),
        ...APPLY,
      ]);
      assert.equal(call.kubeconfig?.mode, '0600');
      assert.equal(call.exitCode, 0, call.stderr);
      assert.ok((call.stdin ?? '').length > 0, 'the manifest came through stdin');
    }
    const [cilium, ccm, team, quota] = calls;
    assert.ok(kinds(cilium).includes('DaemonSet/cilium'));
    assert.ok(kinds(cilium).includes('Deployment/cilium-operator'));
    assert.match(cilium?.stdin ?? '', /cluster-pool-ipv4-cidr: 10\.100\.0\.0\/16/);
    assert.ok(kinds(ccm).includes('DaemonSet/aws-cloud-controller-manager'));
    assert.match(ccm?.stdin ?? '', /--cluster-name=addons/);
    assert.match(ccm?.stdin ?? '', /--configure-cloud-routes=false/);
    assert.match(ccm?.stdin ?? '', /cloud-controller-manager:v1\.31\./);
    assert.deepEqual(kinds(team), ['Namespace/team-a']);
    assert.deepEqual(kinds(quota), ['ConfigMap/quota']);
    for (const call of calls)
      assert.ok(
        call.objects.every((o) => o.result === 'created'),
        'a new cluster',
      );

    // kboot logged each addon and what kubectl reported.
    const appliedLogs = retry.logs.filter((line) => String(line.msg).startsWith('applied addon'));
    assert.deepEqual(
      appliedLogs.map((line) => line.addon),
      ['cilium', 'aws-cloud-controller-manager', 'addons.d/10-team.yml', 'addons.d/20-quota.yaml'],
    );
    assert.ok(
      ((appliedLogs[0]?.kubectl ?? []) as string[]).includes('daemonset.apps/cilium serverside-applied'),
    );

    // The rendered manifests are kept for the operator; re-applying what kboot applied changes nothing.
    assert.ok(existsSync(path.join(master.root, 'var/lib/kboot/addons/10-cilium.yaml')));
    for (const call of calls) {
      execFileSync(fakeKubectlPath(), call.argv, {
        input: call.stdin ?? '',
        env: { ...process.env, ...master.env },
      });
    }
    const replayed = applies(sim).slice(before + calls.length);
    assert.equal(replayed.length, calls.length);
    for (const call of replayed) {
      assert.ok(call.objects.length > 0);
      assert.ok(
        call.objects.every((o) => o.result === 'unchanged'),
        `unchanged: ${JSON.stringify(call.objects.filter((o) => o.result !== 'unchanged'))}`,
      );
    }

    // The cluster's choice is in its record; every kubelet runs with cloud-provider external.
    const record = await readItem(sim.name, 'meta');
    assert.deepEqual(record?.addons, { cni: 'cilium', cloudController: true });
    assert.equal(kubeletArgs(sim, 'init', master.privateDns)['cloud-provider'], 'external');
    const worker = await sim.addInstance('worker');
    // The worker's own node config names no addons: the cluster record decides.
    writeFileSync(path.join(worker.root, 'etc/kboot/config.yaml'), 'apiEndpoint: api.example.com\n');
    const joined = await sim.run(worker, ['boot', '--output', 'json']);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-2000));
    assert.equal(kubeletArgs(sim, 'join', worker.privateDns)['cloud-provider'], 'external');
  });

  it('fails a rejected addon cleanly: uninitialized, reset, failure recorded, lease released, exit 10', async () => {
    const sim = await cluster('addons-fail', ADDONS_CONFIG, {
      FAKE_KUBECTL_FAIL_ON: '^--kubeconfig .* apply ',
    });
    const master = await sim.addInstance('control-plane');
    const failed = await sim.run(master, ['bootstrap-master']);
    assert.equal(failed.exitCode, 10, failed.stderr.slice(-2000));
    assert.equal(
      failed.error?.msg,
      'addon cilium (/var/lib/kboot/addons/10-cilium.yaml) was not applied: kubectl apply exited 1: Error from server (InternalError): an error on the server ("Internal Server Error: \\"injected by FAKE_KUBECTL_FAIL_ON\\"") has prevented the request from succeeding',
    );
    await assertFailedCleanly(sim, master, 'addon cilium');
    assert.equal(applies(sim).length, 1, 'the addons after the failed one were not applied');
    assert.deepEqual(otherCalls(sim), []);
  });

  it('without a cloud controller, kubelets run with no cloud provider and kubectl applies no addon', async () => {
    const sim = await cluster('addons-none', 'apiEndpoint: api.example.com\n');
    const master = await sim.addInstance('control-plane');
    const result = await sim.run(master, ['bootstrap-master', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.deepEqual(applies(sim), []);
    assert.deepEqual(otherCalls(sim), [], 'no kubectl call at all');
    assert.equal(kubeletArgs(sim, 'init', master.privateDns)['cloud-provider'], undefined);
    const record = await readItem(sim.name, 'meta');
    assert.deepEqual(record?.addons, { cni: 'none', cloudController: false });
    const joiner = await sim.addInstance('control-plane');
    const joined = await sim.run(joiner, ['boot', '--output', 'json']);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-2000));
    assert.equal(kubeletArgs(sim, 'join', joiner.privateDns)['cloud-provider'], undefined);
  });

  it('--dry-run lists the addon steps in order and changes nothing', async () => {
    const sim = await cluster('addons-dry', ADDONS_CONFIG);
    const master = await sim.addInstance('control-plane');
    addonsDir(master, { '10-team.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n' });
    const result = await sim.run(master, ['bootstrap-master', '--dry-run']);
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const lines = result.stdout.split('\n').filter((line) => /^\s+\d+\. apply the addons/.test(line));
    assert.equal(lines.length, 1, result.stdout);
    // One step, the addons in the order they are applied.
    assert.match(
      lines[0] ?? '',
      /apply the addons \(Cilium v1\.20\.2 \(cluster-pool IPAM over 10\.100\.0\.0\/16.*\), the AWS cloud-controller-manager v1\.31\.\d+ \(--cluster-name=addons-dry, --configure-cloud-routes=false\), \/etc\/kboot\/addons\.d\/10-team\.yaml\) with kubectl apply --server-side/,
    );
    assert.match(
      result.stdout,
      /\d+\. take the bootstrap lease .*\n(\s+\d+\. .*\n)*?\s+\d+\. run kubeadm init --upload-certs\n(\s+\d+\. .*\n)*?\s+\d+\. apply the addons .*\n(\s+\d+\. .*\n)*?\s+\d+\. publish the join, control-plane and admin\.conf secrets, and mark the cluster initialized/,
    );
    assert.deepEqual(readKubectlLog(sim.kubectlLog), []);
    assert.deepEqual(
      sim.invocations().filter((i) => i.command !== 'version'),
      [],
    );
  });

  it('stops before changing anything when addons.manifestsDir is not a directory', async () => {
    const sim = await cluster(
      'addons-baddir',
      `${ADDONS_CONFIG}`.replace(
        'cloudController: true',
        'cloudController: true, manifestsDir: /etc/kboot/config.yaml',
      ),
    );
    const master = await sim.addInstance('control-plane');
    const result = await sim.run(master, ['bootstrap-master']);
    assert.equal(result.exitCode, 2, result.stderr.slice(-2000));
    assert.match(
      result.error?.msg ?? '',
      /addons\.manifestsDir \/etc\/kboot\/config\.yaml is not a directory/,
    );
    assert.deepEqual(
      sim.invocations().filter((i) => i.command !== 'version'),
      [],
    );
    assert.equal(await readItem(sim.name, 'lock#bootstrap'), undefined, 'no lease was taken');
  });
});
