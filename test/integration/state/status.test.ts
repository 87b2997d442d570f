/**
 * `kboot status` through the built binary against moto: text and `--output json` for one
 * cluster and for every cluster, the instance's own cluster (tags and region from the test IMDS),
 * and the failures a user meets (no region, unknown cluster, a malformed record).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import { ensureTable } from '../../../src/adapters/aws/dynamodb-table.js';
import { ExitCode } from '../../../src/core/errors.js';
import { DEFAULT_KUBERNETES_VERSION } from '../../../src/domain/kubeadm/versions.js';
import { newClusterRecord } from '../../../src/domain/state/cluster-record.js';
import type { ClusterStatusView } from '../../../src/domain/state/status-view.js';
import { runKboot } from '../../support/cli.js';
import { startImdsServer } from '../../support/imds-server.js';
import { tempDir } from '../../support/paths.js';
import { TABLE, useStateTable } from './helpers.js';

const { moto, dynamodb, store } = useStateTable();

function record(clusterName: string, kubernetesVersion = '1.31.2') {
  return newClusterRecord(
    {
      clusterName,
      region: 'us-east-1',
      apiEndpoint: `api.${clusterName}.example.com`,
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
      kubernetesVersion,
      createdBy: 'i-first',
      createdAt: '2025-01-01T00:00:00.000Z',
    },
    TABLE,
  );
}

/** prod: initialized by i-first, bootstrap released, i-second joining as a master right now. */
async function arrangeProd(): Promise<void> {
  await store.putRecordIfAbsent(record('prod'));
  const bootstrap = store.leaseLock('prod', 'bootstrap');
  const taken = await bootstrap.tryAcquire({ owner: 'i-first', nowMs: Date.now(), leaseMs: 600_000 });
  assert.ok(taken.acquired);
  await store.markInitialized(taken.lease, Date.now());
  await bootstrap.release(taken.lease, Date.now());
  const join = await store
    .leaseLock('prod', 'control-plane-join')
    .tryAcquire({ owner: 'i-second', nowMs: Date.now(), leaseMs: 600_000 });
  assert.ok(join.acquired);
  const nowMs = Date.now();
  await store.updateJoinMaterial('prod', {
    updatedAt: new Date(nowMs - 3_600_000).toISOString(),
    tokenExpiresAt: new Date(nowMs + 23 * 3_600_000).toISOString(),
    certificateKeyExpiresAt: new Date(nowMs + 3_600_000).toISOString(),
  });
  await store.recordMember('prod', {
    instanceId: 'i-first',
    role: 'control-plane',
    joinedAt: new Date(nowMs).toISOString(),
    fence: 1,
  });
}

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...moto.awsEnv(), KBOOT_TABLE: undefined, ...extra };
}

describe('kboot status', () => {
  it('shows one cluster as text, with one DynamoDB call', async () => {
    await arrangeProd();
    const traceFile = path.join(tempDir(), 'calls.jsonl');
    const result = await runKboot(['status', '--cluster', 'prod'], {
      env: env({ KBOOT_TRACE_AWS_CALLS: traceFile }),
    });
    assert.equal(result.exitCode, 0, result.stderr);
    const out = result.stdout;
    assert.match(out, /^cluster prod \(table kboot\)\n/);
    assert.match(out, /\n {2}endpoint {17}api\.prod\.example\.com:6443\n/);
    assert.match(out, /\n {2}kubernetes {15}1\.31\.2\n/);
    assert.match(out, /\n {2}pod CIDR {17}10\.244\.0\.0\/16\n/);
    assert.match(out, /\n {2}service CIDR {13}10\.96\.0\.0\/12\n/);
    assert.match(out, /\n {2}initialized {14}yes, by i-first .*\(.*Z, fence 1\)\n/);
    assert.match(out, /\n {2}bootstrap lock {11}free \(released, fence 1\)\n/);
    assert.match(
      out,
      /\n {2}control-plane-join lock {2}held by i-second, fence 1, expires in (9m\d*s|10m) \(/,
    );
    assert.match(
      out,
      /\n {2}join material {12}updated 1h ago .*; token expires in 23h .*; certificate key expires in (59m\d*s|1h) \(/,
    );
    assert.match(out, /\n {2}last failure {13}none\n/);
    assert.match(out, /\n {2}members {18}1\n {27}i-first control-plane joined/);
    const calls = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { operation: string });
    assert.deepEqual(
      calls.map((c) => c.operation),
      ['Query'],
    );
  });

  it('warns about a cluster whose Kubernetes minor is past its end of life, naming the upgrade', async () => {
    await store.putRecordIfAbsent(record('old'));
    await store.putRecordIfAbsent(record('new', DEFAULT_KUBERNETES_VERSION));
    // The clock of the day the table was read, so the test does not age.
    const offsetMs = Date.parse('2026-12-07T12:00:00Z') - Date.now();
    for (const args of [['status'], ['status', '--output', 'json'], ['status', '--cluster', 'old']]) {
      const result = await runKboot(args, { env: env({ KBOOT_CLOCK_OFFSET_MS: String(offsetMs) }) });
      assert.equal(result.exitCode, 0, result.stderr);
      assert.match(
        result.stderr,
        /cluster old: Kubernetes 1\.31 reached its end of life on 2025-10-28 .*next: 1\.32\) to at least 1\.35/,
        args.join(' '),
      );
      assert.doesNotMatch(result.stderr, /cluster new:/);
    }
  });

  it('prints the same facts as JSON with --output json', async () => {
    await arrangeProd();
    const result = await runKboot(['status', '--cluster', 'prod', '--output', 'json'], { env: env() });
    assert.equal(result.exitCode, 0, result.stderr);
    const view = JSON.parse(result.stdout) as ClusterStatusView;
    assert.equal(view.cluster, 'prod');
    assert.equal(view.record, 'present');
    assert.equal(view.apiEndpoint, 'api.prod.example.com:6443');
    assert.equal(view.kubernetesVersion, '1.31.2');
    assert.deepEqual([view.podCidr, view.serviceCidr], ['10.244.0.0/16', '10.96.0.0/12']);
    assert.equal(view.initialized?.by, 'i-first');
    assert.equal(view.initialized?.fence, 1);
    assert.deepEqual(
      {
        state: view.locks.bootstrap.state,
        owner: view.locks.bootstrap.owner,
        fence: view.locks.bootstrap.fence,
      },
      { state: 'released', owner: null, fence: 1 },
    );
    assert.equal(view.locks['control-plane-join'].state, 'held');
    assert.equal(view.locks['control-plane-join'].owner, 'i-second');
    assert.ok((view.locks['control-plane-join'].expiresInMs ?? 0) > 500_000);
    assert.ok(Math.abs((view.joinMaterial?.ageMs ?? 0) - 3_600_000) < 60_000);
    assert.ok((view.joinMaterial?.tokenExpiresInMs ?? 0) > 22 * 3_600_000);
    assert.equal(view.lastFailure, null);
    assert.deepEqual(
      view.members.map((m) => m.instanceId),
      ['i-first'],
    );
  });

  it('lists every cluster in the table without --cluster', async () => {
    await arrangeProd();
    await store.putRecordIfAbsent(record('dev'));
    const json = await runKboot(['status', '-o', 'json'], { env: env() });
    assert.equal(json.exitCode, 0, json.stderr);
    const all = JSON.parse(json.stdout) as { table: string; region: string; clusters: ClusterStatusView[] };
    assert.equal(all.table, 'kboot');
    assert.deepEqual(
      all.clusters.map((c) => [c.cluster, c.initialized?.by ?? null]),
      [
        ['dev', null],
        ['prod', 'i-first'],
      ],
    );
    const text = await runKboot(['status'], { env: env() });
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(
      text.stdout,
      /^cluster dev \(table kboot\)\n[\s\S]*\n {2}initialized {14}no\n[\s\S]*\n\ncluster prod \(table kboot\)\n/,
    );
    const empty = await runKboot(['status', '--table', 'other'], { env: env() });
    assert.equal(empty.exitCode, ExitCode.usage);
    assert.match(empty.stderr, /DynamoDB table other does not exist/);
  });

  it('lists the readable clusters beside one with a malformed lock item, and fails for that one alone', async () => {
    await arrangeProd();
    await store.putRecordIfAbsent(record('dev'));
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: marshall({ pk: 'cluster#dev', sk: 'lock#bootstrap', owner: 'i-dev', fence: 'one' }),
      }),
    );
    const json = await runKboot(['status', '-o', 'json'], { env: env() });
    assert.equal(json.exitCode, 0, json.stderr);
    const all = JSON.parse(json.stdout) as { clusters: ClusterStatusView[] };
    const [dev, prod] = all.clusters;
    assert.equal(dev?.cluster, 'dev');
    assert.equal(dev?.locks.bootstrap.state, 'unreadable');
    assert.match(String(dev?.locks.bootstrap.error), /bootstrap .*dev.* is malformed \(fields: fence\)/);
    assert.equal(dev?.apiEndpoint, 'api.dev.example.com:6443');
    assert.equal(prod?.initialized?.by, 'i-first');
    assert.ok(
      json.logs.some(
        (line) =>
          line.level === 'warn' &&
          line.cluster === 'dev' &&
          /malformed/.test(String((line.err as { message?: string })?.message)),
      ),
      json.stderr,
    );
    const text = await runKboot(['status'], { env: env() });
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, /cluster dev [\s\S]* bootstrap lock {11}unreadable: .*malformed/);
    assert.match(text.stdout, /cluster prod [\s\S]* initialized {14}yes, by i-first/);
    const one = await runKboot(['status', '--cluster', 'dev'], { env: env() });
    assert.equal(one.exitCode, ExitCode.stateConflict, one.stderr);
    assert.match(one.stdout, /bootstrap lock {11}unreadable/);
    assert.match(String(one.error?.msg), /bootstrap .*dev.* is malformed \(fields: fence\)/);
    const fine = await runKboot(['status', '--cluster', 'prod'], { env: env() });
    assert.equal(fine.exitCode, 0, fine.stderr);
  });

  it('fails with a usage error when no region is given off an instance, naming --region and AWS_REGION', async () => {
    const result = await runKboot(['status'], {
      env: env({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_EC2_METADATA_DISABLED: 'true' }),
    });
    assert.equal(result.exitCode, ExitCode.usage);
    const line = result.logs.at(-1);
    assert.match(
      String(line?.msg),
      /^no AWS region given for `kboot status`, and this is not an instance kboot can identify/,
    );
    assert.match(String(line?.hint), /--region <region> or set AWS_REGION/);
  });

  it("on an instance with no region given, shows the instance's own cluster from its tags and region", async () => {
    await ensureTable(dynamodb, 'kboot-tagged', { pollMs: 50 });
    const tagged = new DynamoDbClusterStore({ dynamodb, tableName: 'kboot-tagged' });
    await tagged.putRecordIfAbsent(record('prod'));
    await tagged.putRecordIfAbsent(record('dev'));
    const imds = await startImdsServer({
      region: 'us-east-1',
      tags: { KubernetesCluster: 'prod', 'kboot.io:role': 'worker', 'kboot.io:table': 'kboot-tagged' },
    });
    try {
      const result = await runKboot(['status', '-o', 'json'], {
        env: env({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, ...imds.imdsEnv() }),
      });
      assert.equal(result.exitCode, 0, result.stderr);
      const view = JSON.parse(result.stdout) as ClusterStatusView;
      assert.equal(view.cluster, 'prod');
      assert.equal(view.table, 'kboot-tagged');
    } finally {
      await imds.stop();
    }
  });

  it('fails with a usage error for a cluster that is not in the table', async () => {
    await arrangeProd();
    const result = await runKboot(['status', '--cluster', 'nope'], { env: env() });
    assert.equal(result.exitCode, ExitCode.usage);
    assert.match(
      String(result.logs.at(-1)?.msg),
      /no cluster named "nope" in DynamoDB table kboot \(region us-east-1\)/,
    );
  });

  it('shows what it can of a cluster whose record is malformed, then fails naming the field', async () => {
    await arrangeProd();
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: marshall({ pk: 'cluster#prod', sk: 'meta', ...record('prod'), serviceCidr: ['10.96.0.0/12'] }),
      }),
    );
    const result = await runKboot(['status', '--cluster', 'prod'], { env: env() });
    assert.equal(result.exitCode, ExitCode.stateConflict);
    assert.match(result.stdout, /record {19}unreadable: .*field serviceCidr: expected string, got a list/);
    assert.match(result.stdout, /control-plane-join lock {2}held by i-second/);
    const line = result.logs.at(-1);
    assert.equal(
      line?.msg,
      'cluster record for "prod" in table kboot is malformed: field serviceCidr: expected string, got a list',
    );
    assert.equal(line?.code, 'state-conflict');
  });
});
