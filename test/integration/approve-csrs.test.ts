/**
 * `kboot approve-csrs` through the built binary: moto for EC2 (instances with the cluster's tags
 * and private addresses in a subnet, so their private DNS names are EC2's own), the project's
 * IMDS server for the master, and the recording kubectl with its object store holding real
 * PKCS #10 requests (made with openssl). Only the serving request of this cluster's instance,
 * naming its own DNS name and IP address, and the client request of its new instance are
 * approved; the others stay pending, each logged with why; kubeadm's auto-approval binding goes.
 */

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  type EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { testEc2 } from '../support/aws.js';
import { runKboot } from '../support/cli.js';
import { clientCsrObject, csrObject, makeClientCsr, makeCsr } from '../support/csr.js';
import { type ImdsServer, startImdsServer } from '../support/imds-server.js';
import {
  fakeKubectlPath,
  nodeObject,
  readKubectlLog,
  seedObjects,
  storedObject,
} from '../support/kubectl-log.js';
import { type Moto, startMoto } from '../support/moto.js';
import { tempDir } from '../support/paths.js';

const CLUSTER = 'csrs';

describe('kboot approve-csrs (moto EC2, recording kubectl)', () => {
  let moto: Moto;
  let ec2: EC2Client;
  const imdsServers: ImdsServer[] = [];

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    ec2?.destroy();
    await Promise.all(imdsServers.map((server) => server.stop()));
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    ec2?.destroy();
    ec2 = testEc2(moto);
  });

  async function instance(subnetId: string, ip: string, tags: Record<string, string>) {
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        PrivateIpAddress: ip,
        TagSpecifications: [
          { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        ],
      }),
    );
    const created = run.Instances?.[0];
    return { instanceId: created?.InstanceId as string, privateDns: created?.PrivateDnsName as string };
  }

  it("approves the serving request of this cluster's instance only, within one run", async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId as string, CidrBlock: '10.0.1.0/24' }),
    );
    const subnetId = subnet.Subnet?.SubnetId as string;
    const ours = { [`kubernetes.io/cluster/${CLUSTER}`]: 'owned' };
    const master = await instance(subnetId, '10.0.1.10', { ...ours, 'kboot.io/role': 'control-plane' });
    const worker = await instance(subnetId, '10.0.1.20', { ...ours, 'kboot.io/role': 'worker' });
    const foreign = await instance(subnetId, '10.0.1.30', {
      'kubernetes.io/cluster/other': 'owned',
      'kboot.io/role': 'worker',
    });
    const newcomer = await instance(subnetId, '10.0.1.40', { ...ours, 'kboot.io/role': 'worker' });
    const gone = await instance(subnetId, '10.0.1.50', { ...ours, 'kboot.io/role': 'worker' });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone.instanceId] }));
    assert.match(worker.privateDns, /^ip-10-0-1-20\./, 'moto names the instance after its IP');

    const imds = await startImdsServer({
      instanceId: master.instanceId,
      region: 'us-east-1',
      privateIp: '10.0.1.10',
      privateDns: master.privateDns,
      tags: { KubernetesCluster: CLUSTER, 'kboot.io:role': 'control-plane' },
      tagsEnabled: true,
    });
    imdsServers.push(imds);
    const root = tempDir('kboot-approve-csrs-');
    mkdirSync(path.join(root, 'etc', 'kubernetes'), { recursive: true });
    writeFileSync(path.join(root, 'etc', 'kubernetes', 'admin.conf'), 'apiVersion: v1\nkind: Config\n', {
      mode: 0o600,
    });
    const store = tempDir('kboot-approve-csrs-store-');
    const kubectlLog = path.join(tempDir('kboot-approve-csrs-log-'), 'kubectl.jsonl');
    seedObjects(store, [
      csrObject('csr-worker', worker.privateDns, makeCsr(worker.privateDns, { ipAddresses: ['10.0.1.20'] })),
      csrObject(
        'csr-worker-lies',
        worker.privateDns,
        makeCsr(worker.privateDns, { ipAddresses: ['10.0.1.30'] }),
      ),
      csrObject('csr-foreign', foreign.privateDns, makeCsr(foreign.privateDns)),
      // A new kubelet's client certificate, made with the bootstrap token.
      clientCsrObject('csr-client-newcomer', makeClientCsr(newcomer.privateDns)),
      clientCsrObject('csr-client-takeover', makeClientCsr(worker.privateDns)),
      clientCsrObject('csr-client-foreign', makeClientCsr(foreign.privateDns)),
      clientCsrObject('csr-client-gone', makeClientCsr(gone.privateDns)),
      clientCsrObject('csr-client-usages', makeClientCsr(master.privateDns), {
        usages: ['digital signature', 'client auth', 'server auth'],
      }),
      // The worker is registered; the newcomer is not yet.
      nodeObject(worker.privateDns),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
        },
        subjects: [
          {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Group',
            name: 'system:bootstrappers:kubeadm:default-node-token',
          },
        ],
      },
    ]);

    const result = await runKboot(['approve-csrs', '--output', 'json'], {
      timeoutMs: 60_000,
      env: {
        ...moto.awsEnv(),
        ...imds.imdsEnv(),
        KBOOT_ROOT: root,
        KBOOT_LOG_FORMAT: 'json',
        KBOOT_KUBECTL: fakeKubectlPath(),
        FAKE_KUBECTL_STATE_DIR: store,
        FAKE_KUBECTL_LOG: kubectlLog,
      },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const report = JSON.parse(result.stdout) as {
      outcome: string;
      approved: { name: string; instanceId: string }[];
      refused: { name: string; reason: string }[];
    };
    assert.equal(report.outcome, 'approved');
    assert.deepEqual(report.approved, [
      {
        kind: 'client',
        name: 'csr-client-newcomer',
        nodeName: newcomer.privateDns,
        instanceId: newcomer.instanceId,
      },
      { kind: 'serving', name: 'csr-worker', nodeName: worker.privateDns, instanceId: worker.instanceId },
    ]);
    const refused = Object.fromEntries(report.refused.map((r) => [r.name, r.reason]));
    assert.match(refused['csr-worker-lies'] ?? '', /IP address\(es\) 10\.0\.1\.30 that are not/);
    assert.match(refused['csr-foreign'] ?? '', /no EC2 instance of cluster csrs/);
    assert.match(
      refused['csr-client-takeover'] ?? '',
      /a Node named ip-10-0-1-20\.ec2\.internal is already registered/,
    );
    assert.match(refused['csr-client-foreign'] ?? '', /no EC2 instance of cluster csrs/);
    assert.match(
      refused['csr-client-gone'] ?? '',
      /no EC2 instance of cluster csrs|is (terminated|shutting-down)/,
    );
    assert.match(refused['csr-client-usages'] ?? '', /not those of a kubelet client certificate/);
    assert.equal(Object.keys(refused).length, 6);
    assert.equal(
      storedObject(store, {
        group: 'rbac.authorization.k8s.io',
        kind: 'ClusterRoleBinding',
        name: 'kubeadm:node-autoapprove-bootstrap',
      }),
      undefined,
      "kubeadm's auto-approval binding is gone",
    );

    const conditions = (name: string) =>
      (
        storedObject(store, { group: 'certificates.k8s.io', kind: 'CertificateSigningRequest', name }) as {
          status?: { conditions?: { type: string }[] };
        }
      ).status?.conditions ?? [];
    assert.deepEqual(
      conditions('csr-worker').map((c) => c.type),
      ['Approved'],
    );
    assert.deepEqual(
      conditions('csr-client-newcomer').map((c) => c.type),
      ['Approved'],
    );
    for (const name of Object.keys(refused)) assert.deepEqual(conditions(name), [], name);
    const approvals = readKubectlLog(kubectlLog).filter((call) => call.argv.includes('certificate'));
    assert.deepEqual(
      approvals.map((call) => call.argv.at(-1)),
      ['csr-client-newcomer', 'csr-worker'],
    );
    for (const kind of ['serving', 'client']) {
      assert.ok(
        result.logs.some((line) => line.msg === `left a kubelet ${kind} certificate request pending`),
        `a refused ${kind} request is logged`,
      );
    }
    const refusalLines = result.logs.filter((line) => /request pending$/.test(String(line.msg)));
    assert.equal(refusalLines.length, 6, 'every refusal is logged, with its reason');
    for (const line of refusalLines) assert.equal(typeof line.reason, 'string');
    assert.ok(!result.stderr.includes('BEGIN CERTIFICATE REQUEST'), 'no request is logged');

    // A second run finds nothing left to approve from this cluster.
    const again = await runKboot(['approve-csrs', '--output', 'json'], {
      timeoutMs: 60_000,
      env: {
        ...moto.awsEnv(),
        ...imds.imdsEnv(),
        KBOOT_ROOT: root,
        KBOOT_LOG_FORMAT: 'json',
        KBOOT_KUBECTL: fakeKubectlPath(),
        FAKE_KUBECTL_STATE_DIR: store,
        FAKE_KUBECTL_LOG: kubectlLog,
      },
    });
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    assert.deepEqual((JSON.parse(again.stdout) as { approved: unknown[] }).approved, []);
  });
});
