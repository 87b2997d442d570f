/**
 * The cluster side of the upgrade roll against a simulated cluster: the fake kubeadm initializes
 * it and joins three control-plane members and a worker (its etcd, kubeadm-config and
 * kubelet-config), the kubelets' Nodes and static Pods and kubeadm's addons are seeded in its API
 * (test/support/cluster-objects.ts), and the adapters run kboot's kubectl runner against the fake
 * kubectl binary with the first member's admin.conf, as the roll will.
 */

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { type ClusterSideOptions, clusterSide } from '../../src/adapters/kubernetes/cluster-side.js';
import { kubectlRunner } from '../../src/adapters/process/kubectl.js';
import { ConfigError, IncompatibleError } from '../../src/core/errors.js';
import { caCertHash } from '../../src/domain/kubeadm/ca-hash.js';
import { generateBootstrapToken, generateCertificateKey } from '../../src/domain/kubeadm/tokens.js';
import { clusterStore, seedAddons, setReady, syncMemberObjects } from '../support/cluster-objects.js';
import { fakeKubectlPath, readKubectlLog, storedObject } from '../support/kubectl-log.js';
import { silentLogger } from '../support/silent-logger.js';
import {
  assertOk,
  ENDPOINT,
  initConfig,
  joinConfig,
  V1BETA4,
  World,
} from '../unit/fixtures/fake-kubeadm-world.js';

const CCM_131 = 'registry.k8s.io/provider-aws/cloud-controller-manager:v1.31.5';
const CCM_132 = 'registry.k8s.io/provider-aws/cloud-controller-manager:v1.32.4';

/** A 1.31.2 cluster of three control-plane members and a worker, its API objects seeded. */
async function simulatedCluster(world: World, seed: { cloudController?: boolean } = {}) {
  const token = generateBootstrapToken();
  const certificateKey = generateCertificateKey();
  const first = world.root('cp-10');
  assertOk(
    await world.run(first, [
      'init',
      '--config',
      world.config(first, initConfig(V1BETA4, token, certificateKey)),
      '--upload-certs',
    ]),
    'init',
  );
  const hash = caCertHash(readFileSync(path.join(first, 'etc/kubernetes/pki/ca.crt')), 'ca.crt');
  const controlPlanes = ['ip-10-0-1-10.ec2.internal'];
  for (const octet of [11, 12]) {
    const name = `ip-10-0-1-${octet}.ec2.internal`;
    const root = world.root(`cp-${octet}`);
    const config = joinConfig(token, hash, { name, ip: `10.0.1.${octet}`, certificateKey });
    assertOk(await world.run(root, ['join', '--config', world.config(root, config)]), `join ${name}`);
    controlPlanes.push(name);
  }
  const worker = 'ip-10-0-2-20.ec2.internal';
  const workerRoot = world.root('worker-20');
  assertOk(
    await world.run(workerRoot, [
      'join',
      '--config',
      world.config(workerRoot, joinConfig(token, hash, { name: worker })),
    ]),
    'join worker',
  );
  syncMemberObjects(world.clusterDir);
  seedAddons(world.clusterDir, {
    version: 'v1.31.2',
    ...(seed.cloudController === false ? {} : { cloudControllerImage: CCM_131 }),
  });
  const log = path.join(world.dir, 'kubectl.jsonl');
  // The roll's own copy of the first member's admin.conf (that member may leave during a roll).
  const adminConf = path.join(world.dir, 'admin.conf');
  copyFileSync(path.join(first, 'etc/kubernetes/admin.conf'), adminConf);
  chmodSync(adminConf, 0o600);
  const options = (extra: Record<string, string> = {}, apiEndpoint = ENDPOINT): ClusterSideOptions => ({
    kubectl: kubectlRunner({
      command: fakeKubectlPath(),
      logger: silentLogger(),
      env: {
        PATH: process.env.PATH,
        KBOOT_CHILD_ENV: 'FAKE_KUBEADM_CLUSTER_DIR FAKE_KUBECTL_LOG FAKE_KUBECTL_FAIL_ON',
        FAKE_KUBEADM_CLUSTER_DIR: world.clusterDir,
        FAKE_KUBECTL_LOG: log,
        ...extra,
      },
    }),
    kubeconfigPath: adminConf,
    apiEndpoint,
    callTimeoutMs: 20_000,
  });
  return { controlPlanes, worker, log, adminConf, options, token, hash, certificateKey };
}

describe('health gate over kubectl', () => {
  const world = new World();
  let sim: Awaited<ReturnType<typeof simulatedCluster>>;
  const etcdDown = () => path.join(world.clusterDir, 'etcd-down');
  const alarms = () => path.join(world.clusterDir, 'etcd-alarms');
  const expectation = () => ({
    controlPlaneNodes: sim.controlPlanes,
    readyNodes: [...sim.controlPlanes, sim.worker],
  });
  const check = (extra: Record<string, string> = {}, endpoint = ENDPOINT) =>
    clusterSide(sim.options(extra, endpoint)).health.check(expectation());

  before(async () => {
    sim = await simulatedCluster(world);
  });
  after(() => world.dispose());

  it('passes a healthy cluster, through the load balancer, with the admin.conf kept out of argv', async () => {
    assert.deepEqual(await check(), { healthy: true, problems: [] });
    const calls = readKubectlLog(sim.log);
    const readyz = calls.find((call) => call.argv.includes('/readyz'));
    assert.ok(
      readyz?.argv.includes('https://demo-api.elb.us-east-1.amazonaws.com:6443'),
      'readyz through the LB',
    );
    const execs = calls.filter((call) => call.command === 'exec');
    assert.ok(execs.length >= 3, 'member list, each member’s health and the alarms through etcd Pods');
    const secret = readFileSync(sim.adminConf, 'utf8').match(/client-key-data: (\S+)/)?.[1] as string;
    for (const call of calls) {
      assert.equal(call.kubeconfig?.mode, '0600');
      assert.equal(call.argv.join(' ').includes(secret.slice(0, 40)), false);
      assert.equal(call.exitCode, 0, call.stderr);
    }
  });

  it('API: an endpoint the certificate does not name is one line, and nothing else is asked', async () => {
    const report = await check({}, 'other-lb.example.com');
    assert.equal(report.healthy, false);
    assert.match(
      report.problems[0] as string,
      /^api: https:\/\/other-lb\.example\.com:6443\/readyz did not answer ok through the load balancer: .*x509: certificate is valid for .*, not other-lb\.example\.com/,
    );
    assert.deepEqual(report.problems.slice(1), [
      'etcd, static pods, nodes: not checked (the API did not answer)',
    ]);
  });

  it('API: a failing /readyz (etcd without quorum) stops the gate at the API', async () => {
    writeFileSync(etcdDown(), `${sim.controlPlanes[0]}\n${sim.controlPlanes[1]}\n`);
    try {
      const report = await check();
      assert.equal(report.problems.length, 2);
      assert.match(report.problems[0] as string, /^api: .*\/readyz did not answer ok .*\[-\]etcd failed/);
    } finally {
      rmSync(etcdDown(), { force: true });
    }
  });

  it('etcd health: one member down is one line, asked from the next etcd Pod when the first one’s is down', async () => {
    writeFileSync(etcdDown(), `${sim.controlPlanes[0]}\n`);
    try {
      const report = await check();
      assert.equal(report.problems.length, 1, report.problems.join('\n'));
      assert.match(
        report.problems[0] as string,
        /^etcd health: ip-10-0-1-10\.ec2\.internal \(https:\/\/10\.0\.1\.10:2379\) is unhealthy: .*failed to commit proposal/,
      );
    } finally {
      rmSync(etcdDown(), { force: true });
    }
  });

  it('etcd alarms: a NOSPACE alarm is one line naming the member', async () => {
    writeFileSync(alarms(), `${sim.controlPlanes[2]} NOSPACE\n`);
    try {
      assert.deepEqual((await check()).problems, [
        'etcd alarms: NOSPACE raised on ip-10-0-1-12.ec2.internal',
      ]);
    } finally {
      rmSync(alarms(), { force: true });
    }
  });

  it('etcd members: a member the roll does not expect is one line', async () => {
    const report = await clusterSide(sim.options()).health.check({
      controlPlaneNodes: sim.controlPlanes.slice(0, 2),
      readyNodes: [],
    });
    assert.deepEqual(report.problems, [
      'etcd members: ip-10-0-1-12.ec2.internal is a member but not an expected control-plane node',
    ]);
  });

  it('static pods: a control-plane Pod not Ready is one line', async () => {
    const name = `kube-scheduler-${sim.controlPlanes[1]}`;
    setReady(world.clusterDir, { kind: 'Pod', name }, 'False');
    try {
      assert.deepEqual((await check()).problems, [
        `static pods: kube-system/${name} is not Ready (phase Running, Ready False)`,
      ]);
    } finally {
      setReady(world.clusterDir, { kind: 'Pod', name }, 'True');
    }
  });

  it('the etcd Pod runs etcdctl and nothing else (its image has no shell)', async () => {
    const { kubectl, kubeconfigPath } = sim.options();
    await assert.rejects(
      kubectl.run(['exec', '-n', 'kube-system', `etcd-${sim.controlPlanes[0]}`, '--', 'sh', '-c', 'ls'], {
        kubeconfigPath,
        timeoutMs: 20_000,
      }),
      /exec: "sh": executable file not found in \$PATH/,
    );
  });

  it('nodes: a new Node not Ready is one line with the kubelet’s reason', async () => {
    setReady(world.clusterDir, { kind: 'Node', name: sim.worker }, 'False', 'KubeletNotReady');
    try {
      assert.deepEqual((await check()).problems, [
        `nodes: ${sim.worker} is not Ready (Ready False: KubeletNotReady)`,
      ]);
    } finally {
      setReady(world.clusterDir, { kind: 'Node', name: sim.worker }, 'True');
    }
  });
});

describe('cluster configuration and versioned addons over kubectl', () => {
  const world = new World();
  let sim: Awaited<ReturnType<typeof simulatedCluster>>;
  const clusterJson = () => JSON.parse(readFileSync(path.join(world.clusterDir, 'cluster.json'), 'utf8'));
  const replaces = () => readKubectlLog(sim.log).filter((call) => call.command === 'replace');
  const image = (kind: string, name: string) => {
    const object = storedObject(clusterStore(world.clusterDir), {
      group: 'apps',
      kind,
      name,
      namespace: 'kube-system',
    });
    const spec = object?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined;
    return spec?.template.spec.containers[0]?.image;
  };

  before(async () => {
    sim = await simulatedCluster(world, { cloudController: false });
  });
  after(() => world.dispose());

  it('refuses versions kubeadm would not move to, and the addons before the configuration', async () => {
    const side = clusterSide(sim.options());
    assert.equal(await side.configuration.kubernetesVersion(), 'v1.31.2');
    await assert.rejects(side.configuration.setKubernetesVersion('v1.33.0'), IncompatibleError);
    await assert.rejects(side.configuration.setKubernetesVersion('1.32'), ConfigError);
    await assert.rejects(side.addons.upgrade('v1.32.0'), (error: Error) => {
      assert.ok(error instanceof IncompatibleError);
      assert.match(error.message, /kubeadm-config names v1\.31\.2, not v1\.32\.0/);
      return true;
    });
    assert.equal(replaces().length, 0, 'nothing written');
  });

  it('sets kubeadm-config’s kubernetesVersion once, keeping the rest, and a control plane joining then deploys it', async () => {
    const side = clusterSide(sim.options());
    const before = clusterJson();
    assert.deepEqual(await side.configuration.setKubernetesVersion('1.32.0'), { changed: true });
    assert.equal(await side.configuration.kubernetesVersion(), 'v1.32.0');
    const after = clusterJson();
    const document = parse(after.clusterConfigurationDocument);
    assert.equal(document.kubernetesVersion, 'v1.32.0');
    assert.equal(document.controlPlaneEndpoint, ENDPOINT);
    assert.equal(document.clusterName, 'demo');
    assert.deepEqual(after.kubeletConfiguration, before.kubeletConfiguration, 'kubelet-config unchanged');
    assert.deepEqual(await side.configuration.setKubernetesVersion('v1.32.0'), { changed: false });
    assert.equal(replaces().length, 1, 'the rerun wrote nothing');

    const root = world.root('cp-13');
    const config = joinConfig(sim.token, sim.hash, {
      name: 'ip-10-0-1-13.ec2.internal',
      ip: '10.0.1.13',
      certificateKey: sim.certificateKey,
    });
    assertOk(
      await world.run(root, ['join', '--config', world.config(root, config)], {
        FAKE_KUBEADM_VERSION: 'v1.32.0',
      }),
      'join at 1.32',
    );
    const members = JSON.parse(readFileSync(path.join(world.clusterDir, 'members.json'), 'utf8'));
    const joined = members.find(
      (member: { nodeName: string }) => member.nodeName === 'ip-10-0-1-13.ec2.internal',
    );
    assert.equal(joined.versions.kubeApiserver, 'v1.32.0');
    syncMemberObjects(world.clusterDir);
    const pod = storedObject(clusterStore(world.clusterDir), {
      kind: 'Pod',
      name: 'kube-apiserver-ip-10-0-1-13.ec2.internal',
      namespace: 'kube-system',
    });
    assert.equal(
      (pod?.spec as { containers: { image: string }[] } | undefined)?.containers[0]?.image,
      'registry.k8s.io/kube-apiserver:v1.32.0',
    );
    assert.equal(statSync(sim.adminConf).mode & 0o777, 0o600);
  });

  it('sets kube-proxy (CoreDNS stays: 1.31 and 1.32 share v1.11.3) and only what differs; a rerun changes nothing', async () => {
    const side = clusterSide(sim.options());
    const before = storedObject(clusterStore(world.clusterDir), {
      group: 'apps',
      kind: 'DaemonSet',
      name: 'kube-proxy',
      namespace: 'kube-system',
    });
    assert.deepEqual(await side.addons.upgrade('v1.32.0'), { changed: ['kube-proxy'] });
    assert.equal(image('DaemonSet', 'kube-proxy'), 'registry.k8s.io/kube-proxy:v1.32.0');
    assert.equal(image('Deployment', 'coredns'), 'registry.k8s.io/coredns/coredns:v1.11.3');
    const after = storedObject(clusterStore(world.clusterDir), {
      group: 'apps',
      kind: 'DaemonSet',
      name: 'kube-proxy',
      namespace: 'kube-system',
    });
    assert.deepEqual(after?.status, before?.status, 'the status is the server’s');
    assert.notEqual(after?.metadata.resourceVersion, before?.metadata.resourceVersion);

    syncMemberObjects(world.clusterDir);
    seedAddons(world.clusterDir, { version: 'v1.32.0', cloudControllerImage: CCM_131 });
    const written = replaces().length;
    assert.deepEqual(await side.addons.upgrade('v1.32.0'), { changed: ['aws-cloud-controller-manager'] });
    assert.equal(image('DaemonSet', 'aws-cloud-controller-manager'), CCM_132);
    assert.deepEqual(await side.addons.upgrade('v1.32.0'), { changed: [] });
    assert.equal(replaces().length, written + 1, 'the rerun wrote nothing');
  });

  it('the gate after a surge and a removal: 3 → 4 → 3 members, the new one at 1.32', async () => {
    const side = clusterSide(sim.options());
    const surged = [...sim.controlPlanes, 'ip-10-0-1-13.ec2.internal'];
    assert.deepEqual(
      await side.health.check({ controlPlaneNodes: surged, readyNodes: [surged[3] as string] }),
      {
        healthy: true,
        problems: [],
      },
    );
    assertOk(await world.run(world.root('cp-10'), ['reset', '-f']), 'the oldest member leaves');
    syncMemberObjects(world.clusterDir);
    const remaining = surged.slice(1);
    assert.deepEqual(await side.health.check({ controlPlaneNodes: remaining, readyNodes: [] }), {
      healthy: true,
      problems: [],
    });
    const stale = await side.health.check({ controlPlaneNodes: surged, readyNodes: [] });
    assert.equal(
      stale.problems[0],
      'etcd members: no member for control-plane node ip-10-0-1-10.ec2.internal',
    );
  });

  it('keeps the cluster’s cloud-controller-manager override', async () => {
    const side = clusterSide({ ...sim.options(), cloudControllerImage: 'mirror.example.com/ccm:v1.32.4' });
    assert.deepEqual(await side.addons.upgrade('v1.32.0'), { changed: ['aws-cloud-controller-manager'] });
    assert.equal(image('DaemonSet', 'aws-cloud-controller-manager'), 'mirror.example.com/ccm:v1.32.4');
  });
});
