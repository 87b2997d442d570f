/**
 * `kboot boot` while the cluster record carries an upgrade (1.31.2 → 1.32.0), through the built
 * binary on a simulated cluster: the upgrade is written into the record as the roll writes it, and
 * the fake kubeadm's ClusterConfiguration is set to the target (the roll's first step). A control
 * plane at the old version is refused; a worker at the old version joins with the usual two AWS
 * calls; a worker at the target waits until every control-plane member runs it (SIGTERM while it
 * waits loses nothing); a control plane at the target joins and records its version.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { readClusterItem, testDynamo } from '../../support/aws.js';
import { callNames, readAwsCalls } from '../../support/aws-calls.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { RunningKboot, RunResult } from '../../support/cli.js';
import type { SimCluster, SimInstance } from '../../support/cluster-sim.js';

const NAME = 'upg';
const TARGET = 'v1.32.0';
const NODE_CONFIG = 'apiEndpoint: api.example.com\ntimeouts: { lease: 15s, waitForInit: 60s }\n';

const UPGRADE = {
  from: { kubernetesVersion: '1.31.2', images: { x86_64: 'ami-0aaaaaaaaaaaaaaa1' } },
  to: { kubernetesVersion: '1.32.0', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } },
  phase: 'control-plane',
  startedAt: '2026-12-08T01:00:00.000Z',
  startedBy: 'operator@laptop',
  done: [],
};

function why(result: RunResult): string {
  return result.stderr.slice(-2000);
}

/** Resolves when kboot logs a line matching `pattern` (its stderr, as it comes). */
function logged(
  sim: SimCluster,
  instance: SimInstance,
  pattern: RegExp,
): { run: RunningKboot; seen: Promise<void> } {
  let seen!: () => void;
  const promise = new Promise<void>((resolve) => {
    seen = resolve;
  });
  const run = sim.spawn(instance, ['boot', '--output', 'json'], {
    onStderrLine: (line) => {
      if (pattern.test(line)) seen();
    },
  });
  return { run, seen: Promise.race([promise, run.result.then(() => undefined)]) };
}

describe('kboot boot while an upgrade is recorded', () => {
  const boot = useBootSuite();
  let sim: SimCluster;
  let first: SimInstance;

  /** A cluster of one master at 1.31.2 (moto is reset before each test), then the roll's first writes. */
  async function upgrading(): Promise<void> {
    sim = await boot.cluster({ name: NAME, nodeConfig: NODE_CONFIG });
    first = await sim.addInstance('control-plane');
    const initialized = await sim.run(first);
    assert.equal(initialized.exitCode, 0, why(initialized));
    const member = await readClusterItem(boot.moto, NAME, `member#${first.instanceId}`);
    assert.equal(member?.kubernetesVersion, 'v1.31.2', "the first master's version in its member item");
    // The roll: the upgrade in the record (the record keeps its version until done), then the
    // ClusterConfiguration at the target, so a control plane joining deploys it.
    const dynamodb = testDynamo(boot.moto);
    try {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: sim.table,
          Key: marshall({ pk: `cluster#${NAME}`, sk: 'meta' }),
          UpdateExpression: 'SET #upgrade = :upgrade',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#upgrade)',
          ExpressionAttributeNames: { '#upgrade': 'upgrade' },
          ExpressionAttributeValues: marshall({ ':upgrade': UPGRADE }),
        }),
      );
    } finally {
      dynamodb.destroy();
    }
    const file = path.join(sim.clusterDir, 'cluster.json');
    const cluster = JSON.parse(readFileSync(file, 'utf8'));
    cluster.kubernetesVersion = TARGET;
    cluster.clusterConfiguration.kubernetesVersion = TARGET;
    writeFileSync(file, JSON.stringify(cluster, null, 2));
  }

  it('refuses a control plane at the old version before the lease (exit 9, recorded); a worker at the old version joins with the usual two AWS calls', async () => {
    await upgrading();
    const old = await sim.addInstance('control-plane');
    const refused = await sim.run(old);
    assert.equal(refused.exitCode, 9, why(refused));
    assert.match(
      refused.error?.msg ?? '',
      /cannot join cluster "upg" as a control-plane member: the cluster is being upgraded from v1\.31\.2 to v1\.32\.0: a control-plane instance must run kubeadm 1\.32, this one runs v1\.31\.2/,
    );
    assert.match(refused.error?.hint ?? '', /target AMI/);
    assert.equal(
      sim.invocations().filter((i) => i.env.KBOOT_ROOT === old.root && i.command === 'join').length,
      0,
    );
    assert.equal(
      await readClusterItem(boot.moto, NAME, 'lock#control-plane-join'),
      undefined,
      'no lease taken',
    );
    const record = await readClusterItem(boot.moto, NAME, 'meta');
    const failure = record?.lastFailure as { step: string; by: string } | undefined;
    assert.equal(failure?.step, 'kubeadm-version');
    assert.equal(failure?.by, old.instanceId);

    // A worker at the old version joins, with the usual two AWS calls.
    const trace = path.join(sim.dir, 'old-worker-calls.jsonl');
    const worker = await sim.addInstance('worker', { KBOOT_TRACE_AWS_CALLS: trace });
    const joined = await sim.run(worker);
    assert.equal(joined.exitCode, 0, why(joined));
    assert.deepEqual(callNames(readAwsCalls(trace)), ['dynamodb:GetItem', 'secretsmanager:GetSecretValue']);
  });

  it('SIGTERM to a worker waiting for the control plane: exit 130 at once, nothing written', async () => {
    await upgrading();
    const worker = await sim.addInstance('worker', { FAKE_KUBEADM_VERSION: TARGET });
    const recordBefore = await readClusterItem(boot.moto, NAME, 'meta');
    const { run, seen } = logged(sim, worker, /waits until every control-plane member runs 1\.32/);
    await seen;
    run.child.kill('SIGTERM');
    const stopped = await run.result;
    assert.equal(stopped.exitCode, 130, why(stopped));
    assert.equal(
      sim.invocations().filter((i) => i.env.KBOOT_ROOT === worker.root && i.command !== 'version').length,
      0,
      'kubeadm never ran beyond version',
    );
    assert.ok(!existsSync(path.join(worker.root, 'etc/kubernetes')), 'no kubelet.conf, no CA');
    assert.ok(!existsSync(path.join(worker.root, 'var/lib/kboot/kubeadm/join.yaml')), 'no join config');
    assert.ok(!existsSync(path.join(worker.root, 'var/lib/kboot/membership.json')));
    assert.deepEqual(await readClusterItem(boot.moto, NAME, 'meta'), recordBefore, 'the record as it was');
  });

  it('a worker at the target waits until every control-plane member runs it; a control plane at the target joins', async () => {
    await upgrading();
    const trace = path.join(sim.dir, 'new-worker-calls.jsonl');
    const worker = await sim.addInstance('worker', {
      FAKE_KUBEADM_VERSION: TARGET,
      KBOOT_TRACE_AWS_CALLS: trace,
    });
    const { run, seen } = logged(sim, worker, /waits until every control-plane member runs 1\.32 \(1 of 1/);
    await seen;

    // Surge: a control plane at the target joins (etcd 1 → 2) and records its version.
    const next = await sim.addInstance('control-plane', { FAKE_KUBEADM_VERSION: TARGET });
    const joined = await sim.run(next);
    assert.equal(joined.exitCode, 0, why(joined));
    assert.equal(JSON.parse(joined.stdout).outcome, 'joined-control-plane');
    const member = await readClusterItem(boot.moto, NAME, `member#${next.instanceId}`);
    assert.equal(member?.kubernetesVersion, TARGET);
    const status = await sim.run(first, ['status', '--cluster', NAME]);
    assert.equal(status.exitCode, 0, why(status));
    assert.match(status.stdout, new RegExp(`${next.instanceId} control-plane v1\\.32\\.0 joined`));
    assert.match(status.stdout, new RegExp(`${first.instanceId} control-plane v1\\.31\\.2 joined`));

    // Still one old member: the worker goes on waiting. The old member leaves (as `kboot leave`
    // removes its item), and the worker joins.
    const dynamodb = testDynamo(boot.moto);
    try {
      await dynamodb.send(
        new DeleteItemCommand({
          TableName: sim.table,
          Key: marshall({ pk: `cluster#${NAME}`, sk: `member#${first.instanceId}` }),
        }),
      );
    } finally {
      dynamodb.destroy();
    }
    const result = await run.result;
    assert.equal(result.exitCode, 0, why(result));
    assert.equal(JSON.parse(result.stdout).outcome, 'joined-worker');
    assert.ok(
      result.logs.some((line) =>
        /every control-plane member runs this version; joining/.test(String(line.msg)),
      ),
    );
    const calls = callNames(readAwsCalls(trace));
    assert.equal(calls[0], 'dynamodb:GetItem');
    assert.equal(calls[1], 'secretsmanager:GetSecretValue');
    assert.equal(calls.at(-1), 'secretsmanager:GetSecretValue', 'the material read again after the wait');
    const polls = calls.slice(2, -1);
    assert.ok(polls.length >= 2 && polls.every((call) => call === 'dynamodb:Query'), calls.join(', '));
    const nodes = JSON.parse(readFileSync(path.join(sim.clusterDir, 'members.json'), 'utf8')) as {
      nodeName: string;
      versions: { kubelet: string };
    }[];
    assert.equal(nodes.find((node) => node.nodeName === worker.privateDns)?.versions.kubelet, TARGET);
  });
});
