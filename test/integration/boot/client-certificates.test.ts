/**
 * A new kubelet's client certificate in the simulated cluster: the first master removes kubeadm's
 * auto-approval right after init, so every joining kubelet's request (a worker's and a
 * control-plane member's) waits for `kboot approve-csrs` on a master (the simulated
 * kboot-approve-csrs.timer), which approves it by the instance's EC2 name; a request for a name no
 * instance of the cluster has stays pending; without the timer, a join is never approved and
 * fails after kubeadm's wait. Approval latency (request made → approved) is reported as a test
 * diagnostic: the simulation's timer ticks every 250 ms, the AMI's every 30 s.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulatedClusterStore } from '../../fixtures/lib/fake-kubectl/store.mjs';
import { useBootSuite } from '../../support/boot-suite.js';
import type { KubeadmInvocation } from '../../support/cluster-sim.js';
import { clientCsrObject, makeClientCsr } from '../../support/csr.js';
import { seedObjects, storedObject } from '../../support/kubectl-log.js';

interface TlsBootstrap {
  csrName: string;
  createdAtMs: number;
  approvedAtMs: number;
  auto: boolean;
}

interface CsrLike {
  status?: { conditions?: { type: string; reason: string }[] };
}

const BINDING = {
  group: 'rbac.authorization.k8s.io',
  kind: 'ClusterRoleBinding',
  name: 'kubeadm:node-autoapprove-bootstrap',
};

function successfulJoins(invocations: KubeadmInvocation[]) {
  return invocations.filter((i) => i.command === 'join' && i.exitCode === 0);
}

describe("new kubelets' client certificates are approved by kboot, by name", () => {
  const boot = useBootSuite();

  it('a control-plane member and workers join, each approved by approve-csrs; a stranger stays pending', async (t) => {
    const sim = await boot.cluster({
      name: 'clientcsr',
      env: { FAKE_KUBEADM_SLEEP_MS: 'init=500' },
    });
    const master = await sim.addInstance('control-plane');
    const first = await sim.run(master);
    assert.equal(first.exitCode, 0, first.stderr.slice(-2000));
    const store = simulatedClusterStore(sim.clusterDir) as string;
    assert.equal(
      storedObject(store, BINDING),
      undefined,
      "kubeadm's auto-approval binding is gone after init",
    );

    // Someone with the bootstrap token asks for a name no instance of the cluster has.
    seedObjects(store, [clientCsrObject('csr-stranger', makeClientCsr('ip-10-0-9-99.ec2.internal'))]);

    const joiners = [
      await sim.addInstance('control-plane'),
      await sim.addInstance('worker'),
      await sim.addInstance('worker'),
    ];
    const results = await Promise.all(joiners.map((instance) => sim.run(instance)));
    for (const [index, result] of results.entries()) {
      assert.equal(result.exitCode, 0, `joiner ${index}: ${result.stderr.slice(-2000)}`);
    }
    assert.deepEqual(results.map((result) => JSON.parse(result.stdout).outcome as string).sort(), [
      'joined-control-plane',
      'joined-worker',
      'joined-worker',
    ]);

    const joins = successfulJoins(sim.invocations());
    assert.equal(joins.length, 3);
    const latenciesMs: number[] = [];
    for (const join of joins) {
      const bootstrap = join.tlsBootstrap as TlsBootstrap;
      assert.equal(bootstrap.auto, false, 'not approved by the controller-manager');
      const csr = storedObject(store, {
        group: 'certificates.k8s.io',
        kind: 'CertificateSigningRequest',
        name: bootstrap.csrName,
      }) as CsrLike;
      assert.deepEqual(
        csr.status?.conditions?.map((c) => c.reason),
        ['KubectlApprove'],
      );
      latenciesMs.push(bootstrap.approvedAtMs - bootstrap.createdAtMs);
    }
    const approvedByTimer = (sim.csrTimer?.runs ?? []).flatMap((run) => run.approved);
    assert.deepEqual(
      approvedByTimer.map((a) => a.nodeName).sort(),
      joiners.map((instance) => instance.privateDns).sort(),
    );
    assert.ok(approvedByTimer.every((a) => a.kind === 'client'));
    const stranger = storedObject(store, {
      group: 'certificates.k8s.io',
      kind: 'CertificateSigningRequest',
      name: 'csr-stranger',
    }) as CsrLike;
    assert.deepEqual(stranger.status?.conditions ?? [], [], 'the stranger is never approved');
    const refusals = (sim.csrTimer?.runs ?? []).flatMap((run) => run.refused);
    assert.ok(
      refusals.some(
        (r) => r.name === 'csr-stranger' && /no EC2 instance of cluster clientcsr/.test(r.reason),
      ),
    );
    const runsMs = (sim.csrTimer?.runs ?? []).map((run) => run.endedAtMs - run.startedAtMs);
    t.diagnostic(
      `approval latency (request made -> approved), ms: ${latenciesMs.sort((a, b) => a - b).join(', ')}; approve-csrs runs, ms: ${runsMs.join(', ')}`,
    );
  });

  it('without approve-csrs, a join is never approved: kubeadm gives up, kboot resets the node (exit 7)', async () => {
    const sim = await boot.cluster({
      name: 'noapprover',
      csrTimer: false,
      env: { FAKE_KUBEADM_SLEEP_MS: 'init=300', FAKE_KUBEADM_TLS_BOOTSTRAP_MS: '1500' },
    });
    const master = await sim.addInstance('control-plane');
    assert.equal((await sim.run(master)).exitCode, 0);
    const worker = await sim.addInstance('worker');
    const result = await sim.run(worker);
    assert.equal(result.exitCode, 7, result.stderr.slice(-2000));
    assert.match(result.stderr, /timed out waiting for the condition/);
    const store = simulatedClusterStore(sim.clusterDir) as string;
    const joins = sim.invocations().filter((i) => i.command === 'join');
    assert.equal(joins.length, 1);
    assert.equal(joins[0]?.exitCode, 1);
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset'),
      'kboot reset the node',
    );
    assert.equal(storedObject(store, BINDING), undefined);
  });
});
