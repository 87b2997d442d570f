/**
 * `kboot approve-csrs` as a flow over fake ports: kubectl (delete kubeadm's auto-approval, get
 * csr, certificate approve), the Nodes and the EC2 instance directory; a dry run plans without
 * approving; a worker may not run it.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceFact } from '../../../../src/domain/cleanup/ports.js';
import { approveCsrsFlow } from '../../../../src/domain/flows/approve-csrs.js';
import type { FlowDeps } from '../../../../src/domain/flows/deps.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import type { KubectlRunOptions } from '../../../../src/domain/ports/kubectl.js';
import { runFlow } from '../../../../src/domain/steps/runner.js';
import { clientCsrObject, csrObject, makeClientCsr, makeCsr } from '../../../support/csr.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { ManualClock } from '../state/manual-clock.js';

const NODE = 'ip-10-0-2-7.ec2.internal';
const STRANGER = 'ip-10-9-9-9.ec2.internal';
const NEW_NODE = 'ip-10-0-2-8.ec2.internal';
const DELETE_BINDING = [
  'delete',
  'clusterrolebinding',
  'kubeadm:node-autoapprove-bootstrap',
  '--ignore-not-found',
];
const GET_CSRS = ['get', 'certificatesigningrequests', '-o', 'json'];

class World {
  readonly clock = new ManualClock();
  readonly kubectlCalls: string[][] = [];
  readonly lookups: string[][] = [];
  role: Role = 'control-plane';
  csrs = [
    csrObject('csr-ours', NODE, makeCsr(NODE, { ipAddresses: ['10.0.2.7'] })),
    csrObject('csr-stranger', STRANGER, makeCsr(STRANGER)),
    { ...csrObject('csr-done', NODE, makeCsr(NODE)), status: { conditions: [{ type: 'Approved' }] } },
  ];
  facts: InstanceFact[] = [
    { instanceId: 'i-0node', state: 'running', privateDnsName: NODE, privateIp: '10.0.2.7', cluster: 'prod' },
    {
      instanceId: 'i-0new',
      state: 'running',
      privateDnsName: NEW_NODE,
      privateIp: '10.0.2.8',
      cluster: 'prod',
      launchTimeMs: Date.now() - 120_000,
    },
  ];
  nodes = [NODE];
  bindingPresent = true;
  nodeLists = 0;

  deps(): FlowDeps {
    const unexpected = (what: string) => async () => {
      throw new Error(`unexpected call: ${what}`);
    };
    return {
      logger: silentLogger(),
      clock: this.clock,
      fs: { resolve: (p: string) => `/root${p}` } as unknown as FlowDeps['fs'],
      config: {},
      settings: {
        dryRun: false,
        waitTimeoutMs: 60_000,
        leaseMs: 60_000,
        kubeadmTimeoutMs: 60_000,
        tokenTtlMs: 3_600_000,
        minMaterialLifeMs: 60_000,
        pollMs: 1000,
        addonTimeoutMs: 60_000,
      },
      identity: async (): Promise<Identity> => ({
        instance: {
          instanceId: 'i-0master',
          region: 'eu-west-1',
          availabilityZone: 'eu-west-1a',
          privateIpv4: '10.0.1.10',
          accountId: '123456789012',
          instanceType: 't3.medium',
          imageId: 'ami-1',
          architecture: 'x86_64',
        },
        clusterName: 'prod',
        role: this.role,
        tableFromTag: undefined,
        tagsSource: 'instance-metadata',
      }),
      privateDnsName: unexpected('privateDnsName'),
      discoverApiEndpoint: unexpected('discoverApiEndpoint'),
      state: unexpected('state'),
      joinMaterial: unexpected('joinMaterial'),
      oidcPublisher: unexpected('oidcPublisher'),
      pkiSecrets: unexpected('pkiSecrets'),
      kubeadm: { run: unexpected('kubeadm') } as unknown as FlowDeps['kubeadm'],
      kubectl: {
        run: async (args: readonly string[], options: KubectlRunOptions) => {
          assert.equal(options.kubeconfigPath, '/root/etc/kubernetes/admin.conf');
          this.kubectlCalls.push([...args]);
          if (args[0] === 'get') return { stdout: JSON.stringify({ items: this.csrs }), stderr: '' };
          if (args[0] === 'delete') {
            const was = this.bindingPresent;
            this.bindingPresent = false;
            return {
              stdout: was ? 'clusterrolebinding.rbac.authorization.k8s.io "x" deleted\n' : '',
              stderr: '',
            };
          }
          if (args[0] === 'certificate')
            return { stdout: `certificatesigningrequest approved\n`, stderr: '' };
          throw new Error(`unexpected kubectl ${args.join(' ')}`);
        },
      },
      cleanup: {
        registry: unexpected('registry'),
        instances: async () => ({
          lookup: async (query) => {
            this.lookups.push([...query.privateDnsNames]);
            return {
              byId: new Map(this.facts.map((fact) => [fact.instanceId, fact])),
              byDnsName: new Map(this.facts.map((fact) => [fact.privateDnsName ?? '', fact])),
            };
          },
        }),
        etcd: unexpected('etcd') as never,
        nodes: async () => ({
          list: async () => {
            this.nodeLists += 1;
            return this.nodes.map((name) => ({ name, providerId: undefined, ready: 'True' }));
          },
          delete: unexpected('delete node') as never,
        }),
        etcdEndpointsOverride: undefined,
      },
    } satisfies FlowDeps;
  }

  run(dryRun = false) {
    return runFlow(approveCsrsFlow, this.deps(), {
      logger: silentLogger(),
      clock: this.clock,
      signal: new AbortController().signal,
      dryRun,
      undoBudgetMs: 60_000,
      stopGraceMs: 1000,
    });
  }
}

describe('kboot approve-csrs', () => {
  it("approves the pending request of this cluster's instance, and only that one", async () => {
    const w = new World();
    const { result } = await w.run();
    assert.deepEqual(w.kubectlCalls, [DELETE_BINDING, GET_CSRS, ['certificate', 'approve', 'csr-ours']]);
    assert.deepEqual(w.lookups, [[NODE, STRANGER]]);
    assert.equal(w.nodeLists, 0, 'no client request pending: the Nodes are not listed');
    assert.equal(result.outcome, 'approved');
    assert.deepEqual(result.approved, [
      { kind: 'serving', name: 'csr-ours', nodeName: NODE, instanceId: 'i-0node' },
    ]);
    assert.equal(result.refused.length, 1);
    assert.equal(result.refused[0]?.name, 'csr-stranger');
    assert.match(result.refused[0]?.reason ?? '', /no EC2 instance of cluster prod/);
  });

  it('plans in a dry run: reads the requests and EC2, approves nothing', async () => {
    const w = new World();
    const { result, planned } = await w.run(true);
    assert.deepEqual(w.kubectlCalls, [GET_CSRS]);
    assert.equal(w.bindingPresent, true, 'a dry run deletes nothing');
    assert.equal(result.outcome, 'planned');
    assert.deepEqual(
      result.approved.map((a) => a.name),
      ['csr-ours'],
    );
    assert.ok(planned.some((step) => step.step === 'approve' && step.description.includes('csr-ours')));
  });

  it("approves a new kubelet's client request for its own instance, never one for a registered Node", async () => {
    const w = new World();
    w.csrs = [
      clientCsrObject('csr-new', makeClientCsr(NEW_NODE)),
      clientCsrObject('csr-takeover', makeClientCsr(NODE)),
    ];
    const { result } = await w.run();
    assert.deepEqual(w.kubectlCalls, [DELETE_BINDING, GET_CSRS, ['certificate', 'approve', 'csr-new']]);
    assert.equal(w.nodeLists, 1);
    assert.deepEqual(w.lookups, [[NEW_NODE, NODE]]);
    assert.deepEqual(result.approved, [
      { kind: 'client', name: 'csr-new', nodeName: NEW_NODE, instanceId: 'i-0new' },
    ]);
    assert.deepEqual(
      result.refused.map((r) => [r.kind, r.name]),
      [['client', 'csr-takeover']],
    );
    assert.match(result.refused[0]?.reason ?? '', /already registered/);
  });

  it("removes kubeadm's auto-approval binding at every run (an upgrade puts it back)", async () => {
    const w = new World();
    w.csrs = [];
    await w.run();
    assert.equal(w.bindingPresent, false);
    await w.run();
    assert.deepEqual(
      w.kubectlCalls.filter((call) => call[0] === 'delete'),
      [DELETE_BINDING, DELETE_BINDING],
    );
  });

  it('asks EC2 nothing when no request is pending', async () => {
    const w = new World();
    w.csrs = [];
    const { result } = await w.run();
    assert.deepEqual(w.lookups, []);
    assert.equal(result.outcome, 'nothing-pending');
  });

  it('runs on control-plane instances only', async () => {
    const w = new World();
    w.role = 'worker';
    await assert.rejects(w.run(), (error: Error) =>
      /tagged worker/.test(`${error.message} ${String(error.cause)}`),
    );
    assert.deepEqual(w.kubectlCalls, []);
  });
});
