/**
 * The boot flows when things go wrong, and when they run again: a first master that dies during
 * init, kubeadm init failing, a kubeadm version outside the allowed skew, a reboot of a member,
 * --dry-run, and what a worker's join costs in AWS calls.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readClusterItem } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { SimCluster } from '../../support/cluster-sim.js';

const FAST_LEASE = 'apiEndpoint: api.example.com\ntimeouts: { lease: 3s, waitForInit: 90s }\n';

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function awsCalls(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const call = JSON.parse(line) as { service: string; operation: string };
      return `${call.service}:${call.operation}`;
    });
}

describe('boot flows: failures and re-runs', () => {
  const boot = useBootSuite();
  const moto = boot.moto;

  function cluster(name: string, nodeConfig?: string): Promise<SimCluster> {
    return boot.cluster({ name, ...(nodeConfig === undefined ? {} : { nodeConfig }) });
  }

  it('replaces a first master killed during init after its lease runs out; no worker joins early', async () => {
    const sim = await cluster('killed', FAST_LEASE);
    const doomed = await sim.addInstance('control-plane', { FAKE_KUBEADM_SLEEP_MS: 'init=60000' });
    const successor = await sim.addInstance('control-plane');
    const worker = await sim.addInstance('worker');
    const first = sim.spawn(doomed, undefined, { detached: true });
    // Wait until the doomed master holds the lease and kubeadm init is running, then kill the instance.
    await waitFor(
      () => existsSync(path.join(doomed.root, 'var/lib/kboot/kubeadm/init.yaml')),
      30_000,
      'init to start',
    );
    const others = [sim.run(successor), sim.run(worker)];
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(-(first.child.pid as number), 'SIGKILL');
    const killed = await first.result;
    assert.equal(killed.signal, 'SIGKILL');

    const [master, node] = await Promise.all(others);
    assert.equal(master?.exitCode, 0, master?.stderr.slice(-1500));
    assert.equal(node?.exitCode, 0, node?.stderr.slice(-1500));
    assert.equal(JSON.parse(master?.stdout ?? '{}').outcome, 'initialized');

    const invocations = sim.invocations();
    const inits = invocations.filter((i) => i.command === 'init' && i.exitCode === 0);
    assert.equal(inits.length, 1);
    assert.equal(inits[0]?.env.KBOOT_ROOT, successor.root);
    const join = invocations.find((i) => i.command === 'join');
    assert.ok(
      join && inits[0] && join.startedAtMs >= inits[0].endedAtMs,
      'the worker joined before init finished',
    );

    const lock = await readClusterItem(moto, 'killed', 'lock#bootstrap');
    const record = await readClusterItem(moto, 'killed', 'meta');
    assert.equal(lock?.fence, 2, 'the successor took the lease with a higher fence');
    const initialized = record?.initialized as { by: string; fence: number } | undefined;
    assert.equal(initialized?.fence, 2);
    assert.equal(initialized?.by, successor.instanceId);
  });

  it('cleans up after kubeadm init fails: reset, lease released, failure recorded; a retry succeeds', async () => {
    const sim = await cluster('failing');
    const master = await sim.addInstance('control-plane');
    const failed = await sim.run(master, ['bootstrap-master'], { env: { FAKE_KUBEADM_FAIL: 'init' } });
    assert.equal(failed.exitCode, 7, failed.stderr.slice(-1500));
    assert.match(failed.error?.msg ?? '', /kubeadm init exited 1/);
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset'),
      'kubeadm reset ran',
    );
    const lock = await readClusterItem(moto, 'failing', 'lock#bootstrap');
    assert.equal(lock?.owner, undefined, 'the lease was released');
    const record = await readClusterItem(moto, 'failing', 'meta');
    assert.equal((record?.lastFailure as { step: string } | undefined)?.step, 'kubeadm-init');
    assert.equal(record?.initialized, undefined);
    assert.ok(
      !existsSync(path.join(master.root, 'var/lib/kboot/kubeadm/init.yaml')),
      'the config with secrets was removed',
    );

    const retry = await sim.run(master, ['bootstrap-master', '--output', 'json']);
    assert.equal(retry.exitCode, 0, retry.stderr.slice(-1500));
    assert.equal(JSON.parse(retry.stdout).outcome, 'initialized');
  });

  it('removes the join and init configs when the reset of an unfinished attempt and the retry fail', async () => {
    const sim = await cluster('partial');
    const master = await sim.addInstance('control-plane');
    // An earlier init that did not finish (kubelet.conf, no membership file): reset, then init.
    mkdirSync(path.join(master.root, 'etc/kubernetes'), { recursive: true });
    writeFileSync(path.join(master.root, 'etc/kubernetes/kubelet.conf'), 'partial\n');
    const init = await sim.run(master, ['bootstrap-master'], { env: { FAKE_KUBEADM_FAIL: 'reset,init' } });
    assert.equal(init.exitCode, 7, init.stderr.slice(-1500));
    assert.deepEqual(
      readdirSync(path.join(master.root, 'var/lib/kboot/kubeadm')),
      [],
      'no init.yaml, no temp file',
    );
    assert.equal((await sim.run(master)).exitCode, 0);

    const worker = await sim.addInstance('worker');
    mkdirSync(path.join(worker.root, 'etc/kubernetes'), { recursive: true });
    writeFileSync(path.join(worker.root, 'etc/kubernetes/kubelet.conf'), 'partial\n');
    const join = await sim.run(worker, ['join-node'], { env: { FAKE_KUBEADM_FAIL: 'reset,join' } });
    assert.equal(join.exitCode, 7, join.stderr.slice(-1500));
    assert.ok(
      join.logs.some((line) => line.step === 'reset-partial-join'),
      'the unfinished join was reset (and the reset failed)',
    );
    assert.deepEqual(
      readdirSync(path.join(worker.root, 'var/lib/kboot/kubeadm')),
      [],
      'no join.yaml, no temp file',
    );
  });

  it('refuses a worker whose kubeadm is outside the allowed skew before changing anything', async () => {
    const sim = await cluster('skew');
    const master = await sim.addInstance('control-plane');
    assert.equal((await sim.run(master)).exitCode, 0);
    const worker = await sim.addInstance('worker', { FAKE_KUBEADM_VERSION: 'v1.29.4' });
    const result = await sim.run(worker);
    assert.equal(result.exitCode, 9, result.stderr.slice(-1500));
    assert.match(result.error?.msg ?? '', /kubeadm v1\.29\.4 is older than Kubernetes v1\.31\.2/);
    assert.equal(sim.invocations().filter((i) => i.command === 'join').length, 0);
    assert.ok(!existsSync(path.join(worker.root, 'var/lib/kboot')), 'nothing was written');
  });

  it('a worker join costs 1 DynamoDB and 1 Secrets Manager call; a reboot costs none and changes nothing', async () => {
    const sim = await cluster('counted');
    const master = await sim.addInstance('control-plane');
    assert.equal((await sim.run(master)).exitCode, 0);
    const trace = path.join(sim.dir, 'worker-calls.jsonl');
    const worker = await sim.addInstance('worker', { KBOOT_TRACE_AWS_CALLS: trace });
    const joined = await sim.run(worker);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-1500));
    assert.deepEqual(awsCalls(trace), ['dynamodb:GetItem', 'secretsmanager:GetSecretValue']);
    assert.ok(worker.imds.counts.total <= 6, `IMDS requests: ${JSON.stringify(worker.imds.counts.byPath)}`);

    const invocationsBefore = sim.invocations().length;
    const reboot = await sim.run(worker);
    assert.equal(reboot.exitCode, 0);
    assert.equal(JSON.parse(reboot.stdout).outcome, 'already-member');
    assert.equal(sim.invocations().length, invocationsBefore, 'kubeadm did not run again');
    assert.deepEqual(
      awsCalls(trace),
      ['dynamodb:GetItem', 'secretsmanager:GetSecretValue'],
      'the reboot made no AWS call',
    );
  });

  it('--dry-run prints the plan and the rendered config with secrets redacted, and changes nothing', async () => {
    const sim = await cluster('dry');
    const master = await sim.addInstance('control-plane');
    const planned = await sim.run(master, ['boot', '--dry-run']);
    assert.equal(planned.exitCode, 0, planned.stderr.slice(-1500));
    assert.match(planned.stdout, /kboot boot would:/);
    assert.match(planned.stdout, /kind: InitConfiguration/);
    assert.match(planned.stdout, /\[REDACTED\]/);
    assert.doesNotMatch(planned.stdout, /[a-z0-9]{6}\.[a-z0-9]{16}/);
    assert.deepEqual(
      sim.invocations().map((i) => i.command),
      ['version'],
    );
    assert.equal(await readClusterItem(moto, 'dry', 'lock#bootstrap'), undefined, 'no lease was taken');

    assert.equal((await sim.run(master)).exitCode, 0);
    const worker = await sim.addInstance('worker');
    const workerPlan = await sim.run(worker, ['join-node', '--dry-run']);
    assert.equal(workerPlan.exitCode, 0, workerPlan.stderr.slice(-1500));
    assert.match(workerPlan.stdout, /kind: JoinConfiguration/);
    assert.match(workerPlan.stdout, /token: "?\[REDACTED\]/);
    assert.equal(sim.invocations().filter((i) => i.command === 'join').length, 0);

    const second = await sim.addInstance('control-plane');
    const masterPlan = await sim.run(second, ['join-master', '--dry-run']);
    assert.equal(masterPlan.exitCode, 0, masterPlan.stderr.slice(-1500));
    assert.match(masterPlan.stdout, /kind: JoinConfiguration/);
    assert.match(masterPlan.stdout, /certificateKey: "?\[REDACTED\]/);
    assert.doesNotMatch(masterPlan.stdout, /(?<!sha256:)\b[a-f0-9]{64}\b/);
    assert.equal(
      await readClusterItem(moto, 'dry', 'lock#control-plane-join'),
      undefined,
      'no lease was taken',
    );
  });

  it('refuses join-node on an instance tagged control-plane', async () => {
    const sim = await cluster('wrong-role');
    const master = await sim.addInstance('control-plane');
    const result = await sim.run(master, ['join-node']);
    assert.equal(result.exitCode, 9);
    assert.match(result.error?.msg ?? '', /tagged control-plane, so it cannot run 'kboot join-node'/);
  });
});
