/**
 * Instance identity through the built binary: one IMDS server per simulated instance, moto for
 * the ec2:DescribeTags fallback, with instance metadata tags on and off, and every error.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateTagsCommand, type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { testEc2 } from '../support/aws.js';
import { startAwsErrorStub } from '../support/aws-stub.js';
import { runKboot } from '../support/cli.js';
import { type ImdsServer, startImdsServer } from '../support/imds-server.js';
import { type Moto, startMoto } from '../support/moto.js';
import { tempDir } from '../support/paths.js';

function awsCalls(file: string): { service: string; operation: string }[] {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { service: string; operation: string });
  } catch {
    return [];
  }
}

describe('kboot identity', () => {
  let moto: Moto;
  let ec2: EC2Client;
  const servers: ImdsServer[] = [];

  before(async () => {
    moto = await startMoto();
    ec2 = testEc2(moto);
  });
  after(async () => {
    ec2.destroy();
    await Promise.all(servers.map((server) => server.stop()));
    await moto.stop();
  });
  beforeEach(() => moto.reset());

  async function instance(tags: Record<string, string>, tagsEnabled: boolean) {
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1 }),
    );
    const instanceId = run.Instances?.[0]?.InstanceId as string;
    if (Object.keys(tags).length > 0) {
      await ec2.send(
        new CreateTagsCommand({
          Resources: [instanceId],
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    }
    const imds = await startImdsServer({ instanceId, region: 'us-east-1', tags, tagsEnabled });
    servers.push(imds);
    const trace = path.join(tempDir(), 'aws-calls.jsonl');
    const env = { ...moto.awsEnv(), ...imds.imdsEnv(), KBOOT_TRACE_AWS_CALLS: trace, AWS_REGION: undefined };
    return { instanceId, imds, trace, env };
  }

  it('reads cluster and role from instance metadata tags within 5 IMDS requests and no EC2 call', async () => {
    const { instanceId, imds, trace, env } = await instance(
      { KubernetesCluster: 'prod', 'kboot.io:role': 'worker', Name: 'prod-worker', team: 'platform' },
      true,
    );
    const result = await runKboot(['identity', '--output', 'json'], { env });
    assert.equal(result.exitCode, 0, result.stderr);
    const facts = JSON.parse(result.stdout);
    assert.equal(facts.cluster, 'prod');
    assert.equal(facts.role, 'worker');
    assert.equal(facts.instanceId, instanceId);
    assert.equal(facts.region, 'us-east-1');
    assert.equal(facts.tagsSource, 'instance-metadata');
    assert.equal(facts.table, 'kboot');
    assert.ok(
      imds.counts.total <= 5,
      `IMDS requests: ${imds.counts.total} ${JSON.stringify(imds.counts.byPath)}`,
    );
    assert.equal(imds.counts.tokensIssued, 1);
    assert.deepEqual(awsCalls(trace), []);
  });

  it('falls back to one ec2:DescribeTags call when instance metadata tags are disabled', async () => {
    const { trace, env } = await instance(
      { 'kubernetes.io/cluster/prod': 'owned', 'kboot.io/role': 'master', 'kboot.io/table': 'state' },
      false,
    );
    const result = await runKboot(['identity', '--output', 'json'], { env });
    assert.equal(result.exitCode, 0, result.stderr);
    const facts = JSON.parse(result.stdout);
    assert.equal(facts.cluster, 'prod');
    assert.equal(facts.role, 'control-plane');
    assert.equal(facts.table, 'state');
    assert.equal(facts.tagsSource, 'ec2:DescribeTags');
    assert.deepEqual(
      awsCalls(trace).map(({ service, operation }) => `${service}:${operation}`),
      ['ec2:DescribeTags'],
    );
  });

  const errors: { label: string; tags: Record<string, string>; enabled: boolean; message: RegExp }[] = [
    {
      label: 'no cluster tag',
      tags: { 'kboot.io:role': 'worker' },
      enabled: true,
      message: /no cluster tag/,
    },
    {
      label: 'two cluster names',
      tags: { 'kubernetes.io/cluster/a': 'owned', 'kboot.io/cluster': 'b', 'kboot.io/role': 'worker' },
      enabled: false,
      message: /tagged for two clusters: "a".*"b"/,
    },
    {
      label: 'no role tag',
      tags: { KubernetesCluster: 'prod' },
      enabled: true,
      message: /no kboot\.io\/role tag/,
    },
    {
      label: 'an unknown role',
      tags: { 'kubernetes.io/cluster/prod': 'owned', 'kboot.io/role': 'etcd' },
      enabled: false,
      message: /tag kboot\.io\/role has unknown value "etcd"/,
    },
  ];
  for (const { label, tags, enabled, message } of errors) {
    it(`refuses ${label} with a usage error naming the tag`, async () => {
      const { env } = await instance(tags, enabled);
      const result = await runKboot(['identity'], { env });
      assert.equal(result.exitCode, 2, result.stderr);
      assert.match(result.error?.msg ?? '', message);
      assert.ok((result.error?.hint ?? '').length > 0);
      assert.equal(result.stdout, '');
    });
  }

  it('explains a denied ec2:DescribeTags: the IAM permission or the launch-template setting', async () => {
    const stub = await startAwsErrorStub(
      403,
      'UnauthorizedOperation',
      'You are not authorized to perform this operation.',
    );
    try {
      const { env } = await instance({}, false);
      const result = await runKboot(['identity'], { env: { ...env, AWS_ENDPOINT_URL: stub.endpoint } });
      assert.equal(result.exitCode, 4, result.stderr);
      assert.match(result.error?.msg ?? '', /AWS refused reading the tags of i-\w+ \(ec2:DescribeTags\)/);
      assert.match(result.error?.hint ?? '', /ec2:DescribeTags/);
      assert.match(result.error?.hint ?? '', /InstanceMetadataTags=enabled/);
    } finally {
      await stub.stop();
    }
  });

  it('says IMDS is unreachable, with what to check', async () => {
    const result = await runKboot(['identity'], {
      env: { ...moto.awsEnv(), AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' },
      timeoutMs: 60_000,
    });
    assert.equal(result.exitCode, 3, result.stderr);
    assert.match(result.error?.hint ?? '', /AWS_EC2_METADATA_SERVICE_ENDPOINT|hop limit|EC2/);
  });

  it('refuses to run when IMDS is disabled by AWS_EC2_METADATA_DISABLED', async () => {
    const result = await runKboot(['identity'], {
      env: { ...moto.awsEnv(), AWS_EC2_METADATA_DISABLED: 'true' },
    });
    assert.equal(result.exitCode, 2, result.stderr);
    assert.match(result.error?.msg ?? '', /AWS_EC2_METADATA_DISABLED/);
  });
});
