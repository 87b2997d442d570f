/**
 * The etcd snapshots' bucket (spec `backup`) through `kboot cluster plan|create|destroy`: the built
 * binary against moto.
 * - create makes it with SSE-KMS under the cluster's key (and a bucket key), versioning, every
 *   public access blocked, the lifecycle rule under `<cluster>/etcd/` and kboot's tags; the
 *   masters' policy names it, every node config carries it; a create that lost the record and the
 *   settings finds the bucket and puts them again; plan shows versioning suspended by hand as drift
 *   and create puts it back; destroy deletes every version, then the bucket;
 * - a given bucket (`create: false`) is used, never configured or deleted: destroy deletes only
 *   this cluster's snapshots (every version) in it;
 * - a given bucket that does not exist is exit 2 before anything is made.
 */

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DeleteItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
} from '@aws-sdk/client-ec2';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketLifecycleCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { clientConfig, testDynamo, testEc2 } from '../../support/aws.js';
import { type RunResult, runKboot } from '../../support/cli.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { tempDir } from '../../support/paths.js';

const CLUSTER = 'demo';
const BUCKET = 'demo-etcd-backups';

interface Entry {
  key: string;
  outcome: string;
  reason?: string;
}

describe('kboot cluster: the etcd snapshot bucket (moto)', () => {
  let moto: Moto;
  let dir: string;
  let s3: S3Client;
  let base: string;

  function cluster(args: string[]): Promise<RunResult> {
    return runKboot(['cluster', ...args], {
      env: { ...moto.awsEnv(), KBOOT_TABLE: undefined },
      cwd: dir,
      timeoutMs: 120_000,
    });
  }

  function specFile(backup: string): string {
    const file = path.join(dir, 'cluster.yaml');
    writeFileSync(file, `${base}backup: ${backup}\n`);
    return file;
  }

  function entries(result: RunResult): Entry[] {
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    return (JSON.parse(result.stdout) as { entries: Entry[] }).entries;
  }

  async function exists(bucket: string): Promise<boolean> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch {
      return false;
    }
  }

  async function versionsUnder(prefix: string): Promise<number> {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: prefix }));
    return (out.Versions ?? []).length + (out.DeleteMarkers ?? []).length;
  }

  /** Two versions of a snapshot and of an object beside it. */
  async function putTwice(key: string): Promise<void> {
    for (const body of ['one', 'two'])
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  before(async () => {
    moto = await startMoto();
  });
  beforeEach(async () => {
    await moto.reset();
    dir = tempDir('kboot-backup-bucket-');
    s3?.destroy();
    s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    const ec2 = testEc2(moto);
    try {
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const subnet = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpc.Vpc?.VpcId as string,
          CidrBlock: '10.0.0.0/20',
          AvailabilityZone: 'us-east-1a',
        }),
      );
      base = `kubernetesVersion: 1.31.2
network:
  vpcId: ${vpc.Vpc?.VpcId}
  vpcCidr: 10.0.0.0/16
  subnets:
    - { id: ${subnet.Subnet?.SubnetId}, az: us-east-1a, cidr: 10.0.0.0/20 }
controlPlane: { count: 1, instanceType: m6i.large, ami: ami-12c6146b }
tags: { team: platform }
`;
    } finally {
      ec2.destroy();
    }
  });
  after(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  it('makes the bucket encrypted with the cluster key, versioned, private, with the lifecycle rule; resumes; destroy deletes every version and the bucket', async () => {
    const file = specFile(`{ bucket: ${BUCKET} }`);
    const created = await cluster(['create', '--name', CLUSTER, '-f', file, '--output', 'json']);
    const result = JSON.parse(created.stdout) as { outputs: Record<string, Record<string, string>> };
    assert.equal(entries(created).find((e) => e.key === 'backup-bucket')?.outcome, 'created');
    const keyArn = result.outputs['kms-key']?.arn as string;
    assert.match(keyArn, /^arn:aws:kms:/);

    const checkSettings = async () => {
      const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
      const rule = encryption.ServerSideEncryptionConfiguration?.Rules?.[0];
      assert.equal(rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'aws:kms');
      assert.equal(rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID, keyArn);
      assert.equal(rule?.BucketKeyEnabled, true);
      const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));
      assert.equal(versioning.Status, 'Enabled');
      const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
      assert.deepEqual(block.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
      assert.equal(lifecycle.Rules?.length, 1);
      assert.equal(lifecycle.Rules?.[0]?.Status, 'Enabled');
      assert.equal(lifecycle.Rules?.[0]?.Filter?.Prefix, `${CLUSTER}/etcd/`);
      assert.equal(lifecycle.Rules?.[0]?.NoncurrentVersionExpiration?.NoncurrentDays, 30);
    };
    await checkSettings();
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET }));
    const tagMap = Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tagMap['kboot.io/cluster'], CLUSTER);
    assert.equal(tagMap['kboot.io/resource'], 'backup-bucket');
    assert.equal(tagMap.team, 'platform');

    // The masters' policy holds the snapshot statements for this bucket; the workers' does not.
    const iam = new IAMClient(clientConfig(moto));
    try {
      const policyOf = async (role: string) =>
        decodeURIComponent(
          (
            await iam.send(
              new GetRolePolicyCommand({ RoleName: `kboot-${CLUSTER}-${role}`, PolicyName: `kboot-${role}` }),
            )
          ).PolicyDocument ?? '',
        );
      assert.match(await policyOf('control-plane'), new RegExp(`arn:aws:s3:::${BUCKET}/${CLUSTER}/etcd/\\*`));
      assert.doesNotMatch(await policyOf('worker'), new RegExp(BUCKET));
    } finally {
      iam.destroy();
    }
    // The control-plane node config names the bucket.
    const ec2 = testEc2(moto);
    try {
      const templates = await ec2.send(
        new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [`kboot-${CLUSTER}-control-plane`] }),
      );
      const versions = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: templates.LaunchTemplates?.[0]?.LaunchTemplateId as string,
        }),
      );
      const userData = Buffer.from(
        versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData ?? '',
        'base64',
      ).toString();
      assert.match(userData, new RegExp(`backup:\\n\\s+bucket: ${BUCKET}\\n`));
    } finally {
      ec2.destroy();
    }

    // Plan: nothing to change.
    const planned = await cluster(['plan', '--name', CLUSTER, '-f', file, '--output', 'json']);
    assert.equal(planned.exitCode, 0, planned.stderr.slice(-3000));
    assert.match(planned.stdout, /backup-bucket/);

    // A create that made the bucket but recorded nothing and configured nothing (killed): found, finished.
    const dynamodb = testDynamo(moto);
    try {
      await dynamodb.send(
        new DeleteItemCommand({
          TableName: 'kboot',
          Key: { pk: { S: `cluster#${CLUSTER}` }, sk: { S: 'resource#backup-bucket' } },
        }),
      );
    } finally {
      dynamodb.destroy();
    }
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: BUCKET }));
    const resumed = await cluster(['create', '--name', CLUSTER, '-f', file, '--output', 'json']);
    assert.equal(entries(resumed).find((e) => e.key === 'backup-bucket')?.outcome, 'found');
    await checkSettings();

    // Versioning suspended by hand: plan shows it, create puts it back.
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Suspended' } }),
    );
    const drifted = await cluster(['plan', '--name', CLUSTER, '-f', file, '--output', 'json']);
    assert.equal(drifted.exitCode, 0, drifted.stderr.slice(-3000));
    const planEntry = (
      JSON.parse(drifted.stdout) as {
        entries: { key: string; action: string; drift?: { field: string; have: string }[] }[];
      }
    ).entries.find((e) => e.key === 'backup-bucket');
    assert.equal(planEntry?.action, 'drift');
    assert.deepEqual(
      planEntry?.drift?.map((d) => `${d.field}=${d.have}`),
      ['versioning=Suspended'],
    );
    const updated = await cluster(['create', '--name', CLUSTER, '-f', file, '--output', 'json']);
    assert.equal(entries(updated).find((e) => e.key === 'backup-bucket')?.outcome, 'updated');
    await checkSettings();

    await putTwice(`${CLUSTER}/etcd/2026-12-07T23:00:00.000Z-rev5.db`);
    await putTwice('elsewhere/notes.txt');
    const destroyed = await cluster(['destroy', '--name', CLUSTER, '--yes', '--output', 'json']);
    assert.equal(entries(destroyed).find((e) => e.key === 'backup-bucket')?.outcome, 'deleted');
    assert.equal(await exists(BUCKET), false);
  });

  it('uses a given bucket as it is and, at destroy, deletes only this cluster’s snapshots from it', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const file = specFile(`{ bucket: ${BUCKET}, create: false }`);
    const created = await cluster(['create', '--name', CLUSTER, '-f', file, '--output', 'json']);
    assert.equal(entries(created).find((e) => e.key === 'backup-bucket')?.outcome, 'adopted');
    await assert.rejects(
      s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })),
      /NoSuchLifecycleConfiguration|lifecycle/i,
      'a given bucket is not configured',
    );

    await putTwice(`${CLUSTER}/etcd/2026-12-07T23:00:00.000Z-rev5.db`);
    await putTwice('other/etcd/2026-12-07T23:00:00.000Z-rev9.db');
    const destroyed = await cluster(['destroy', '--name', CLUSTER, '--yes', '--output', 'json']);
    const entry = entries(destroyed).find((e) => e.key === 'backup-bucket');
    assert.equal(entry?.outcome, 'kept');
    assert.match(entry?.reason ?? '', /2 object version\(s\) under demo\/etcd\/ deleted/);
    assert.equal(await exists(BUCKET), true);
    assert.equal(await versionsUnder(`${CLUSTER}/etcd/`), 0);
    assert.equal(await versionsUnder('other/'), 2);
  });

  it('refuses a given bucket that does not exist with exit 2, before making anything', async () => {
    const file = specFile(`{ bucket: ${BUCKET}, create: false }`);
    for (const command of ['plan', 'create']) {
      const result = await cluster([command, '--name', CLUSTER, '-f', file]);
      assert.equal(result.exitCode, 2, `${command}: ${result.stderr.slice(-2000)}`);
      assert.match(result.stderr, new RegExp(`backup.bucket ${BUCKET} does not exist`));
    }
    assert.equal(await exists(BUCKET), false);
    const dynamodb = testDynamo(moto);
    try {
      assert.deepEqual(
        (await dynamodb.send(new ListTablesCommand({}))).TableNames,
        [],
        'no state table made',
      );
    } finally {
      dynamodb.destroy();
    }
  });
});
