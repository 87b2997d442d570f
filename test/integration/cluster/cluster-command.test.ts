/**
 * `kboot cluster plan|create|destroy` end to end: the built binary against moto, with a VPC and
 * two subnets arranged by the test, and resources made outside kboot that must survive.
 * - create makes every resource of the graph with kboot's tags and the spec's settings, recording
 *   each; create again and plan change nothing; destroy deletes exactly what was recorded;
 * - a create killed (SIGKILL) right after a create call, before its record, resumes without
 *   duplicates;
 * - plan and create --dry-run make no mutating call (traced);
 * - a bad spec is refused before any AWS call, naming the field.
 */

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeTableCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '../../../src/adapters/aws/clients.js';
import { DynamoDbResourceState } from '../../../src/adapters/aws/cluster/state.js';
import { ensureTable } from '../../../src/adapters/aws/dynamodb-table.js';
import { SecretsJoinMaterialStore } from '../../../src/adapters/aws/secrets-join-material.js';
import { Secret } from '../../../src/core/secrets.js';
import { clusterGraph } from '../../../src/domain/cluster/graph.js';
import { parseClusterSpec } from '../../../src/domain/cluster/spec.js';
import { clientConfig, testDynamo, testEc2, testSecrets } from '../../support/aws.js';
import { callNames, readAwsCalls } from '../../support/aws-calls.js';
import { type RunResult, runKboot } from '../../support/cli.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { tempDir } from '../../support/paths.js';
import { silentLogger } from '../../support/silent-logger.js';
import { adminConf } from '../../unit/domain/kubeconfig/fixtures.js';

const CLUSTER = 'demo';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** AWS operations that change something; a plan must call none of them. */
const MUTATING =
  /^(Create|Put|Delete|Update|Add|Remove|Schedule|Attach|Detach|Tag|Untag|Register|Deregister|Modify|Set|Complete|TransactWrite|BatchWrite|Terminate|Run)/;

interface Network {
  vpcId: string;
  subnets: { id: string; az: string; cidr: string }[];
}

function specText(network: Network, extra = ''): string {
  return `kubernetesVersion: 1.31.2
network:
  vpcId: ${network.vpcId}
  vpcCidr: 10.0.0.0/16
  subnets:
${network.subnets.map((s) => `    - { id: ${s.id}, az: ${s.az}, cidr: ${s.cidr} }`).join('\n')}
controlPlane: { count: 1, instanceType: m6i.large, ami: ami-12c6146b }
workers:
  groups:
    - { name: general, instanceType: m6i.large, min: 0, max: 3, placement: per-az }
apiEndpoint: { scheme: internal }
addons: { cloudController: true, irsa: { bucket: demo-oidc-issuer } }
tags: { team: platform }
${extra}`;
}

describe('kboot cluster plan|create|destroy (moto)', () => {
  let moto: Moto;
  let dir: string;
  let network: Network;
  let specFile: string;
  let traceN = 0;

  function cluster(
    args: string[],
    env: Record<string, string | undefined> = {},
  ): Promise<RunResult & { calls: string[] }> {
    const trace = path.join(dir, `trace-${traceN++}.jsonl`);
    return runKboot(['cluster', ...args], {
      env: { ...moto.awsEnv(), KBOOT_TABLE: undefined, KBOOT_TRACE_AWS_CALLS: trace, ...env },
      cwd: dir,
      timeoutMs: 120_000,
    }).then((result) => ({ ...result, calls: callNames(readAwsCalls(trace)) }));
  }

  async function arrangeNetwork(): Promise<Network> {
    const ec2 = testEc2(moto);
    try {
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const vpcId = vpc.Vpc?.VpcId as string;
      const subnets: Network['subnets'] = [];
      for (const [az, cidr] of [
        ['us-east-1a', '10.0.0.0/20'],
        ['us-east-1b', '10.0.16.0/20'],
      ] as const) {
        const out = await ec2.send(
          new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az }),
        );
        subnets.push({ id: out.Subnet?.SubnetId as string, az, cidr });
      }
      return { vpcId, subnets };
    } finally {
      ec2.destroy();
    }
  }

  /** The graph's keys for the spec, from the same code the binary runs. */
  function graphKeys(text: string): string[] {
    return clusterGraph(parseClusterSpec(text, 'spec', { name: CLUSTER, fallbackRegion: REGION }))
      .map((r) => r.key)
      .sort();
  }

  async function recordedKeys(table = 'kboot'): Promise<string[]> {
    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
          ExpressionAttributeValues: { ':pk': { S: `cluster#${CLUSTER}` }, ':r': { S: 'resource#' } },
        }),
      );
      return (out.Items ?? []).map((item) => String(unmarshall(item).key)).sort();
    } finally {
      dynamodb.destroy();
    }
  }

  /** How many of each kind of resource exist for the cluster, looked up independently of kboot. */
  async function census(): Promise<Record<string, number>> {
    const config = clientConfig(moto);
    const kms = new KMSClient(config);
    const iam = new IAMClient(config);
    const secrets = testSecrets(moto);
    const elbv2 = new ElasticLoadBalancingV2Client(config);
    const autoScaling = new AutoScalingClient(config);
    const ec2 = testEc2(moto);
    try {
      let keys = 0;
      for (const key of (await kms.send(new ListKeysCommand({}))).Keys ?? []) {
        const meta = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
        if (meta.KeyMetadata?.KeyState === 'PendingDeletion') continue;
        const tags = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
        if (tags.Tags?.some((t) => t.TagKey === 'kboot.io/cluster' && t.TagValue === CLUSTER)) keys += 1;
      }
      const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
      const profiles = (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? [];
      const secretList = (await secrets.send(new ListSecretsCommand({}))).SecretList ?? [];
      const lbs = (await elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
      const asgs = (await autoScaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
      const templates = (await ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
      const mine = (name: string | undefined) => name?.startsWith(`kboot-${CLUSTER}-`) === true;
      return {
        kmsKeys: keys,
        roles: roles.filter((r) => mine(r.RoleName)).length,
        instanceProfiles: profiles.filter((p) => mine(p.InstanceProfileName)).length,
        secrets: secretList.filter((s) => s.Name?.startsWith(`kboot/${CLUSTER}/`)).length,
        loadBalancers: lbs.filter((lb) => mine(lb.LoadBalancerName)).length,
        asgs: asgs.filter((g) => mine(g.AutoScalingGroupName)).length,
        launchTemplates: templates.filter((t) => mine(t.LaunchTemplateName)).length,
      };
    } finally {
      for (const client of [kms, iam, secrets, elbv2, autoScaling, ec2]) client.destroy();
    }
  }

  const FULL = {
    kmsKeys: 1,
    roles: 2,
    instanceProfiles: 2,
    secrets: 4,
    loadBalancers: 1,
    asgs: 3,
    launchTemplates: 2,
  };
  const NONE = Object.fromEntries(Object.keys(FULL).map((k) => [k, 0]));

  before(async () => {
    moto = await startMoto();
  });
  beforeEach(async () => {
    await moto.reset();
    dir = tempDir('kboot-cluster-');
    network = await arrangeNetwork();
    specFile = path.join(dir, 'cluster.yaml');
    writeFileSync(specFile, specText(network));
  });
  afterEach(() => {
    traceN = 0;
  });
  after(async () => {
    await moto?.stop();
  });

  it('creates every resource with the right tags and settings, records each, changes nothing on a second run, and destroys only what it made', async () => {
    // Made outside kboot, in the same account: must survive destroy.
    const config = clientConfig(moto);
    const kms = new KMSClient(config);
    const iam = new IAMClient(config);
    const secrets = testSecrets(moto);
    const dynamodb = testDynamo(moto);
    const outsiders = {
      key: (await kms.send(new CreateKeyCommand({ Description: 'not kboot' }))).KeyMetadata?.KeyId as string,
    };
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'outsider',
        AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
      }),
    );
    await secrets.send(new CreateSecretCommand({ Name: 'kboot/other/join', SecretString: 'x' }));
    await ensureTable(dynamodb, 'other-table');

    const created = await cluster(['create', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(created.exitCode, 0, created.stderr.slice(-3000));
    const result = JSON.parse(created.stdout) as {
      entries: { key: string; outcome: string }[];
      outputs: Record<string, Record<string, string>>;
    };
    const keys = graphKeys(specText(network));
    assert.deepEqual(result.entries.map((e) => e.key).sort(), keys);
    assert.ok(
      result.entries.every((e) => e.outcome === 'created'),
      JSON.stringify(result.entries),
    );
    assert.deepEqual(await recordedKeys(), keys, 'every resource recorded');
    assert.deepEqual(await census(), FULL);
    // Progress: one log line per transition, each resource ending created.
    for (const key of keys) {
      assert.ok(
        created.logs.some((l) => l.resource === key && l.status === 'created'),
        `progress line for ${key}`,
      );
    }

    // The table: kboot's, tagged.
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: 'kboot' }));
    const tableTags = await dynamodb.send(
      new ListTagsOfResourceCommand({ ResourceArn: table.Table?.TableArn }),
    );
    assert.ok(tableTags.Tags?.some((t) => t.Key === 'kboot.io/resource' && t.Value === 'dynamodb-table'));

    // The KMS key behind the alias, tagged with kboot's tags and the spec's.
    const key = await kms.send(new DescribeKeyCommand({ KeyId: `alias/kboot/${CLUSTER}` }));
    const keyArn = key.KeyMetadata?.Arn as string;
    const keyTags = Object.fromEntries(
      ((await kms.send(new ListResourceTagsCommand({ KeyId: keyArn }))).Tags ?? []).map((t) => [
        t.TagKey,
        t.TagValue,
      ]),
    );
    assert.deepEqual(keyTags, {
      team: 'platform',
      [`kubernetes.io/cluster/${CLUSTER}`]: 'owned',
      'kboot.io/cluster': CLUSTER,
      'kboot.io/resource': 'kms-key',
      'kboot.io/managed-by': 'kboot',
    });

    // The secrets: no value yet, encrypted with the key, tagged; no node-leave secret any more.
    await assert.rejects(
      secrets.send(new DescribeSecretCommand({ SecretId: `kboot/${CLUSTER}/node-leave` })),
      (error: Error) => error.name === 'ResourceNotFoundException',
    );
    for (const name of ['join', 'control-plane', 'admin.conf', 'pki']) {
      const secret = await secrets.send(new DescribeSecretCommand({ SecretId: `kboot/${CLUSTER}/${name}` }));
      assert.equal(secret.KmsKeyId, keyArn, name);
      assert.ok(
        secret.Tags?.some((t) => t.Key === 'kboot.io/resource' && t.Value === `secret/${name}`),
        name,
      );
    }

    // The roles carry exactly the policy `kboot iam-policy` prints for the cluster and its key
    // (the control plane's with the cloud controller's statement: the spec enables it).
    for (const role of ['control-plane', 'worker']) {
      const printed = await runKboot(
        [
          'iam-policy',
          '--role',
          role,
          '--cluster',
          CLUSTER,
          '--region',
          REGION,
          '--account',
          ACCOUNT,
          '--kms-key-arn',
          keyArn,
          '--irsa-bucket',
          'demo-oidc-issuer',
          ...(role === 'control-plane' ? ['--cloud-controller'] : []),
        ],
        { env: { KBOOT_TABLE: undefined } },
      );
      assert.equal(printed.exitCode, 0, printed.stderr);
      const inline = await iam.send(
        new GetRolePolicyCommand({ RoleName: `kboot-${CLUSTER}-${role}`, PolicyName: `kboot-${role}` }),
      );
      const document = JSON.parse(decodeURIComponent(inline.PolicyDocument as string)) as {
        Statement: { Sid: string }[];
      };
      const wanted = JSON.parse(printed.stdout) as { Statement: { Sid: string }[] };
      assert.deepEqual(document, wanted);
      assert.equal(
        document.Statement.some((statement) => statement.Sid === 'AwsCloudControllerManager'),
        role === 'control-plane',
        `${role}: the cloud controller's statement`,
      );
      const profile = await iam.send(
        new GetInstanceProfileCommand({ InstanceProfileName: `kboot-${CLUSTER}-${role}` }),
      );
      assert.deepEqual(
        profile.InstanceProfile?.Roles?.map((r) => r.RoleName),
        [`kboot-${CLUSTER}-${role}`],
      );
    }

    // The cluster record: the NLB's DNS name, the key, the spec's ranges.
    const elbv2 = new ElasticLoadBalancingV2Client(config);
    const lb = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: [`kboot-${CLUSTER}-api`] })))
      .LoadBalancers?.[0];
    const lbTags = (
      await elbv2.send(new DescribeTagsCommand({ ResourceArns: [lb?.LoadBalancerArn as string] }))
    ).TagDescriptions?.[0]?.Tags;
    assert.ok(lbTags?.some((t) => t.Key === `kubernetes.io/cluster/${CLUSTER}` && t.Value === 'owned'));
    elbv2.destroy();
    const meta = await dynamodb.send(
      new QueryCommand({
        TableName: 'kboot',
        KeyConditionExpression: 'pk = :pk AND sk = :meta',
        ExpressionAttributeValues: { ':pk': { S: `cluster#${CLUSTER}` }, ':meta': { S: 'meta' } },
      }),
    );
    const record = unmarshall(meta.Items?.[0] ?? {});
    assert.equal(record.apiEndpoint, `${lb?.DNSName}:6443`);
    assert.equal(record.kmsKeyId, key.KeyMetadata?.KeyId);
    assert.equal(record.podCidr, '10.244.0.0/16');
    assert.equal(record.serviceCidr, '10.96.0.0/12');
    assert.equal(record.createdBy, 'kboot cluster create');
    assert.deepEqual(record.addons, { cni: 'none', cloudController: true });

    // Again: nothing created, no mutating call; plan says no change.
    const again = await cluster(['create', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(again.exitCode, 0, again.stderr.slice(-2000));
    const againResult = JSON.parse(again.stdout) as { entries: { outcome: string }[] };
    assert.ok(againResult.entries.every((e) => e.outcome === 'exists'));
    assert.deepEqual(
      again.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')),
      [],
    );
    const plan = await cluster(['plan', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(plan.exitCode, 0, plan.stderr.slice(-2000));
    // The spec's 1.31.2 is past its end of life: plan says so and names the upgrade.
    assert.match(
      plan.stderr,
      /Kubernetes 1\.31 reached its end of life on 2025-10-28 .*upgrade one minor at a time \(next: 1\.32\)/,
    );
    const planned = JSON.parse(plan.stdout) as { summary: Record<string, number> };
    assert.deepEqual(planned.summary, { create: 0, adopt: 0, drift: 0, 'no-change': keys.length });
    assert.deepEqual(
      plan.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')),
      [],
    );

    // A changed spec: the workers' size and instance type. create updates their template (a new
    // default version) and their groups in place, touches nothing else; plan then shows no change.
    writeFileSync(
      specFile,
      specText(network).replace(
        '{ name: general, instanceType: m6i.large, min: 0, max: 3,',
        '{ name: general, instanceType: m6i.xlarge, min: 0, max: 5,',
      ),
    );
    const drifted = await cluster(['plan', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    const driftedPlan = JSON.parse(drifted.stdout) as { entries: { key: string; action: string }[] };
    const workerKeys = [
      'asg/workers-general-us-east-1a',
      'asg/workers-general-us-east-1b',
      'launch-template/workers-general',
    ];
    assert.deepEqual(
      driftedPlan.entries
        .filter((e) => e.action === 'drift')
        .map((e) => e.key)
        .sort(),
      workerKeys,
    );
    const updated = await cluster(['create', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(updated.exitCode, 0, updated.stderr.slice(-3000));
    const updatedResult = JSON.parse(updated.stdout) as {
      entries: { key: string; outcome: string }[];
      outputs: Record<string, Record<string, string>>;
    };
    assert.deepEqual(
      updatedResult.entries
        .filter((e) => e.outcome !== 'exists')
        .map((e) => `${e.key} ${e.outcome}`)
        .sort(),
      workerKeys.map((key) => `${key} updated`),
    );
    assert.equal(updatedResult.outputs['launch-template/workers-general']?.version, '2');
    assert.deepEqual(updated.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')).sort(), [
      'autoscaling:PutLifecycleHook',
      'autoscaling:PutLifecycleHook',
      'autoscaling:UpdateAutoScalingGroup',
      'autoscaling:UpdateAutoScalingGroup',
      'dynamodb:PutItem', // the template's record, with its new version
      'ec2:CreateLaunchTemplateVersion',
      'ec2:ModifyLaunchTemplate',
    ]);
    const resized = new AutoScalingClient(clientConfig(moto));
    const workerGroups = (
      await resized.send(
        new DescribeAutoScalingGroupsCommand({
          AutoScalingGroupNames: [`kboot-${CLUSTER}-workers-general-us-east-1a`],
        }),
      )
    ).AutoScalingGroups;
    resized.destroy();
    assert.equal(workerGroups?.[0]?.MaxSize, 5);
    assert.equal(workerGroups?.[0]?.LaunchTemplate?.Version, '2');
    // Every version of every launch template kboot made (the update's too) requires IMDSv2 at
    // hop limit 1: pods, a hop further, never reach the instance role.
    const ec2 = new EC2Client(clientConfig(moto));
    const templates = ((await ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? []).filter(
      (t) => t.LaunchTemplateName?.startsWith(`kboot-${CLUSTER}-`),
    );
    assert.ok(templates.length >= 2, 'the control-plane and worker templates');
    let versions = 0;
    for (const template of templates) {
      const out = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: template.LaunchTemplateId }),
      );
      for (const version of out.LaunchTemplateVersions ?? []) {
        versions += 1;
        const where = `${template.LaunchTemplateName} v${version.VersionNumber}`;
        const options = version.LaunchTemplateData?.MetadataOptions;
        assert.equal(options?.HttpTokens, 'required', where);
        assert.equal(options?.HttpPutResponseHopLimit, 1, where);
        assert.equal(options?.HttpEndpoint, 'enabled', where);
      }
    }
    ec2.destroy();
    assert.ok(versions > templates.length, 'the updated template has a second version');
    const settled = await cluster(['plan', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.deepEqual((JSON.parse(settled.stdout) as { summary: Record<string, number> }).summary, {
      create: 0,
      adopt: 0,
      drift: 0,
      'no-change': keys.length,
    });

    // A worker's leave request, in the cluster's partition of leave requests: destroy deletes it
    // (and with it nothing of this cluster keeps the table kboot made).
    const leaveItems = testDynamo(moto);
    await leaveItems.send(
      new PutItemCommand({
        TableName: 'kboot',
        Item: {
          pk: { S: `leave#${CLUSTER}` },
          sk: { S: 'instance#i-0123456789abcdef0' },
          state: { S: 'done' },
        },
      }),
    );
    leaveItems.destroy();

    // Destroy: refused without --yes off a terminal, then done with it.
    const refused = await cluster(['destroy', '--name', CLUSTER]);
    assert.equal(refused.exitCode, 2);
    assert.match(refused.error?.msg ?? '', /without --yes/);
    assert.deepEqual(refused.calls, []);
    const destroyed = await cluster(['destroy', '--name', CLUSTER, '--yes', '--output', 'json']);
    assert.equal(destroyed.exitCode, 0, destroyed.stderr.slice(-3000));
    const destroyResult = JSON.parse(destroyed.stdout) as { entries: { key: string; outcome: string }[] };
    assert.deepEqual(destroyResult.entries.map((e) => e.key).sort(), keys);
    assert.ok(
      destroyResult.entries.every((e) => e.outcome === 'deleted'),
      JSON.stringify(destroyResult.entries),
    );
    assert.deepEqual(await census(), NONE);
    const tables = (await dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    assert.deepEqual(tables, ['other-table'], 'kboot made the kboot table: it goes; the other stays');
    // The outsiders survive.
    assert.equal(
      (await kms.send(new DescribeKeyCommand({ KeyId: outsiders.key }))).KeyMetadata?.KeyState,
      'Enabled',
    );
    assert.ok((await iam.send(new ListRolesCommand({}))).Roles?.some((r) => r.RoleName === 'outsider'));
    assert.ok((await secrets.send(new DescribeSecretCommand({ SecretId: 'kboot/other/join' }))).ARN);
    for (const client of [kms, iam, secrets, dynamodb]) client.destroy();

    // Destroy again: nothing recorded, nothing to do.
    const twice = await cluster(['destroy', '--name', CLUSTER, '--yes']);
    assert.equal(twice.exitCode, 0, twice.stderr);
    assert.match(twice.stdout, /nothing recorded/);
  });

  it('resumes a create killed right after a create call, before its record, without duplicates', async () => {
    // Killed right after the 2nd create call of the first run, then after the 5th of the second.
    // Other creates may be in flight at that moment (4 at a time): each may or may not have
    // reached AWS, and none is recorded.
    const started = new Set<string>();
    for (const n of [2, 5]) {
      const killed = await cluster(['create', '--name', CLUSTER, '-f', specFile], {
        KBOOT_TEST_KILL_AFTER_CREATES: String(n),
      });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr.slice(-2000));
      for (const line of killed.logs) if (line.status === 'creating') started.add(String(line.resource));
    }
    const recorded = await recordedKeys();
    assert.ok(recorded.length > 0 && recorded.length < graphKeys(specText(network)).length, recorded.join());

    const plan = await cluster(['plan', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(plan.exitCode, 0, plan.stderr.slice(-2000));
    const planned = JSON.parse(plan.stdout) as {
      entries: { key: string; action: string }[];
      summary: Record<string, number>;
    };
    const adopted = planned.entries.filter((e) => e.action === 'adopt').map((e) => e.key);
    assert.ok(adopted.length >= 2, `the resources made before each kill are found: ${adopted.join()}`);
    for (const key of adopted) {
      assert.ok(started.has(key) && !recorded.includes(key), `${key} was made by a killed run, unrecorded`);
    }

    const resumed = await cluster(['create', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
    assert.equal(resumed.exitCode, 0, resumed.stderr.slice(-3000));
    const result = JSON.parse(resumed.stdout) as { entries: { key: string; outcome: string }[] };
    assert.deepEqual(
      result.entries
        .filter((e) => e.outcome === 'found')
        .map((e) => e.key)
        .sort(),
      [...adopted].sort(),
    );
    assert.deepEqual(await recordedKeys(), graphKeys(specText(network)));
    assert.deepEqual(await census(), FULL, 'no duplicates');

    const destroyed = await cluster(['destroy', '--name', CLUSTER, '--yes']);
    assert.equal(destroyed.exitCode, 0, destroyed.stderr.slice(-3000));
    assert.deepEqual(await census(), NONE);
  });

  it('plans and dry-runs without a mutating call, then destroy --dry-run deletes nothing', async () => {
    const plan = await cluster(['plan', '--name', CLUSTER, '-f', specFile]);
    assert.equal(plan.exitCode, 0, plan.stderr.slice(-2000));
    const keys = graphKeys(specText(network));
    assert.match(plan.stdout, new RegExp(`${keys.length} to create`));
    for (const key of keys) assert.match(plan.stdout, new RegExp(`\\+ ${key.replace(/[/.]/g, '\\$&')}\\s`));
    assert.deepEqual(
      plan.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')),
      [],
    );
    const dryRun = await cluster([
      'create',
      '--name',
      CLUSTER,
      '-f',
      specFile,
      '--dry-run',
      '--output',
      'json',
    ]);
    assert.equal(dryRun.exitCode, 0, dryRun.stderr.slice(-2000));
    assert.equal((JSON.parse(dryRun.stdout) as { summary: { create: number } }).summary.create, keys.length);
    assert.deepEqual(
      dryRun.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')),
      [],
    );
    assert.deepEqual(await census(), NONE);

    assert.equal((await cluster(['create', '--name', CLUSTER, '-f', specFile])).exitCode, 0);
    const destroyDry = await cluster(['destroy', '--name', CLUSTER, '--dry-run', '--output', 'json']);
    assert.equal(destroyDry.exitCode, 0, destroyDry.stderr.slice(-2000));
    const entries = (JSON.parse(destroyDry.stdout) as { entries: { outcome: string }[] }).entries;
    assert.equal(entries.length, keys.length);
    assert.ok(entries.every((e) => e.outcome === 'would-delete'));
    assert.deepEqual(
      destroyDry.calls.filter((c) => MUTATING.test(c.split(':')[1] ?? '')),
      [],
    );
    assert.deepEqual(await census(), FULL);
  });

  it('uses a table that existed before without deleting it, and leaves other clusters\u2019 items in it', async () => {
    const dynamodb = testDynamo(moto);
    try {
      await ensureTable(dynamodb, 'kboot');
      await dynamodb.send(
        new PutItemCommand({
          TableName: 'kboot',
          Item: { pk: { S: 'cluster#other' }, sk: { S: 'meta' }, x: { S: 'y' } },
        }),
      );
      const created = await cluster(['create', '--name', CLUSTER, '-f', specFile, '--output', 'json']);
      assert.equal(created.exitCode, 0, created.stderr.slice(-3000));
      const entries = (JSON.parse(created.stdout) as { entries: { key: string; outcome: string }[] }).entries;
      assert.equal(entries.find((e) => e.key === 'dynamodb-table')?.outcome, 'adopted');

      // The secrets exist without a value and the record is not initialized: kubeconfig says so;
      // a first master's publish fills them and its init transaction names the version.
      const missing = await runKboot(['kubeconfig', '--cluster', CLUSTER, '--print'], { env: moto.awsEnv() });
      assert.equal(missing.exitCode, 2, missing.stderr);
      assert.match(missing.error?.msg ?? '', /is not initialized yet/);
      const admin = adminConf();
      const clients = new AwsClients({ region: REGION, logger: silentLogger(), env: moto.awsEnv() });
      try {
        Object.assign(process.env, moto.awsEnv());
        const published = await new SecretsJoinMaterialStore({ clients, logger: silentLogger() }).publish(
          CLUSTER,
          {
            adminConf: new Secret(admin.text),
          },
        );
        assert.deepEqual(
          published.map((p) => p.created),
          [false],
          'a new version of the secret kboot made',
        );
        // What the first master's init transaction writes to the record (without its lock item,
        // which destroy does not remove): initialized, and the admin.conf version.
        const nowIso = new Date().toISOString();
        const versionId = published[0]?.versionId;
        assert.ok(versionId !== undefined);
        await dynamodb.send(
          new UpdateItemCommand({
            TableName: 'kboot',
            Key: { pk: { S: `cluster#${CLUSTER}` }, sk: { S: 'meta' } },
            UpdateExpression: 'SET #initialized = :initialized, #joinMaterial = :joinMaterial',
            ExpressionAttributeNames: { '#initialized': 'initialized', '#joinMaterial': 'joinMaterial' },
            ExpressionAttributeValues: marshall({
              ':initialized': { by: 'i-0123456789abcdef0', at: nowIso, fence: 1 },
              ':joinMaterial': {
                updatedAt: nowIso,
                tokenExpiresAt: nowIso,
                versions: { adminConf: versionId },
              },
            }),
          }),
        );
      } finally {
        clients.destroy();
      }
      const printed = await runKboot(['kubeconfig', '--cluster', CLUSTER, '--print'], { env: moto.awsEnv() });
      assert.equal(printed.exitCode, 0, printed.stderr);
      assert.ok(printed.stdout.includes(admin.keyData), 'the published admin.conf');

      // Left by workers' leaves: this cluster's requests and another cluster's.
      for (const name of [CLUSTER, 'other']) {
        await dynamodb.send(
          new PutItemCommand({
            TableName: 'kboot',
            Item: {
              pk: { S: `leave#${name}` },
              sk: { S: 'instance#i-0123456789abcdef0' },
              state: { S: 'done' },
            },
          }),
        );
      }
      // What an older kboot made and recorded: the empty node-leave secret. Destroy still deletes it.
      const legacySecrets = testSecrets(moto);
      const legacy = await legacySecrets.send(
        new CreateSecretCommand({
          Name: `kboot/${CLUSTER}/node-leave`,
          Description: 'made by an older kboot',
        }),
      );
      legacySecrets.destroy();
      await new DynamoDbResourceState({ dynamodb, tableName: 'kboot' }).recordResource(CLUSTER, {
        key: 'secret/node-leave',
        kind: 'secret',
        id: legacy.ARN as string,
        arn: legacy.ARN as string,
        dependsOn: ['kms-key'],
        outputs: { name: `kboot/${CLUSTER}/node-leave`, arn: legacy.ARN as string },
        createdAt: new Date().toISOString(),
      });

      const destroyed = await cluster(['destroy', '--name', CLUSTER, '--yes', '--output', 'json']);
      assert.equal(destroyed.exitCode, 0, destroyed.stderr.slice(-3000));
      const outcome = (JSON.parse(destroyed.stdout) as { entries: { key: string; outcome: string }[] })
        .entries;
      assert.equal(outcome.find((e) => e.key === 'dynamodb-table')?.outcome, 'kept');
      assert.equal(outcome.find((e) => e.key === 'secret/node-leave')?.outcome, 'deleted');
      const afterSecrets = testSecrets(moto);
      await assert.rejects(
        afterSecrets.send(new DescribeSecretCommand({ SecretId: `kboot/${CLUSTER}/node-leave` })),
        (error: Error) => error.name === 'ResourceNotFoundException',
        'the legacy node-leave secret is gone',
      );
      afterSecrets.destroy();
      const leaveLeft = async (name: string) =>
        (
          await dynamodb.send(
            new QueryCommand({
              TableName: 'kboot',
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: `leave#${name}` } },
            }),
          )
        ).Count;
      assert.equal(await leaveLeft(CLUSTER), 0, "the destroyed cluster's leave requests are gone");
      assert.equal(await leaveLeft('other'), 1, "another cluster's leave request stays");
      const left = await dynamodb.send(
        new QueryCommand({
          TableName: 'kboot',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `cluster#${CLUSTER}` } },
        }),
      );
      assert.equal(left.Count, 0, 'no item of the destroyed cluster is left');
      const other = await dynamodb.send(
        new QueryCommand({
          TableName: 'kboot',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'cluster#other' } },
        }),
      );
      assert.equal(other.Count, 1, "the other cluster's item stays");
    } finally {
      dynamodb.destroy();
    }
  });

  it('reports what destroy could not delete, exits 8, and finishes on a re-run', async () => {
    assert.equal((await cluster(['create', '--name', CLUSTER, '-f', specFile])).exitCode, 0);
    // A managed policy attached by hand: IAM refuses to delete the role until it is detached.
    const iam = new IAMClient(clientConfig(moto));
    try {
      const policy = await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'by-hand',
          PolicyDocument:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}',
        }),
      );
      const policyArn = policy.Policy?.Arn as string;
      await iam.send(
        new AttachRolePolicyCommand({ RoleName: `kboot-${CLUSTER}-worker`, PolicyArn: policyArn }),
      );
      const failed = await cluster(['destroy', '--name', CLUSTER, '--yes', '--output', 'json']);
      assert.equal(failed.exitCode, 8, failed.stderr.slice(-2000));
      assert.match(
        failed.error?.msg ?? '',
        /could not delete 3 resources of cluster "demo": iam-role\/worker \(/,
      );
      const outcome = Object.fromEntries(
        (JSON.parse(failed.stdout) as { entries: { key: string; outcome: string }[] }).entries.map((e) => [
          e.key,
          e.outcome,
        ]),
      );
      assert.equal(outcome['iam-role/worker'], 'failed');
      assert.equal(outcome['kms-key'], 'blocked', 'the key the role depends on waits for it');
      assert.equal(outcome['dynamodb-table'], 'blocked');
      assert.equal(outcome['iam-role/control-plane'], 'deleted');
      assert.deepEqual(await recordedKeys(), ['dynamodb-table', 'iam-role/worker', 'kms-key']);

      await iam.send(
        new DetachRolePolicyCommand({ RoleName: `kboot-${CLUSTER}-worker`, PolicyArn: policyArn }),
      );
      const finished = await cluster(['destroy', '--name', CLUSTER, '--yes']);
      assert.equal(finished.exitCode, 0, finished.stderr.slice(-2000));
      assert.deepEqual(await census(), NONE);
    } finally {
      iam.destroy();
    }
  });

  const badSpecs: { label: string; edit: (text: string) => string; args?: string[]; message: RegExp }[] = [
    { label: 'an unknown field', edit: (t) => `${t}contolPlane: {}\n`, message: /unknown field contolPlane/ },
    {
      label: 'an unknown nested field',
      edit: (t) =>
        t.replace('apiEndpoint: { scheme: internal }', 'apiEndpoint: { scheme: internal, port: 443 }'),
      message: /unknown field apiEndpoint\.port/,
    },
    {
      label: 'a pod range overlapping the VPC',
      edit: (t) => t.replace('  vpcCidr: 10.0.0.0/16', '  vpcCidr: 10.0.0.0/16\n  podCidr: 10.0.128.0/17'),
      message: /network\.podCidr 10\.0\.128\.0\/17 overlaps network\.vpcCidr/,
    },
    {
      label: 'a service range overlapping the pod range',
      edit: (t) => t.replace('  vpcCidr: 10.0.0.0/16', '  vpcCidr: 10.0.0.0/16\n  podCidr: 10.96.0.0/16'),
      message: /network\.serviceCidr 10\.96\.0\.0\/12 overlaps network\.podCidr/,
    },
    {
      label: 'a subnet outside the VPC',
      edit: (t) => t.replace('10.0.16.0/20', '10.1.16.0/20'),
      message: /network\.subnets\[\]\.cidr 10\.1\.16\.0\/20 is not inside network\.vpcCidr/,
    },
    {
      label: 'a missing Kubernetes version',
      edit: (t) => t.replace('kubernetesVersion: 1.31.2\n', ''),
      message: /field kubernetesVersion: required/,
    },
    {
      label: 'two control-plane nodes',
      edit: (t) => t.replace('count: 1', 'count: 2'),
      message: /controlPlane\.count: expected 1 or 3/,
    },
    {
      label: 'min above max',
      edit: (t) => t.replace('min: 0, max: 3', 'min: 4, max: 3'),
      message: /workers\.groups\[0\]\.min: must not exceed max/,
    },
    {
      label: 'a name that differs from --name',
      edit: (t) => `name: prod\n${t}`,
      message: /field name: "prod" differs from --name "demo"/,
    },
    {
      label: 'a bad addon',
      edit: (t) => t.replace('irsa: { bucket: demo-oidc-issuer }', 'cni: flannel'),
      message: /addons\.cni/,
    },
    { label: 'YAML that does not parse', edit: (t) => `${t}network: [\n`, message: /not valid YAML/ },
  ];
  for (const bad of badSpecs) {
    it(`refuses a spec with ${bad.label} before any AWS call, naming the field`, async () => {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, bad.edit(specText(network)));
      for (const command of ['plan', 'create']) {
        const result = await cluster([command, '--name', CLUSTER, '-f', file]);
        assert.equal(result.exitCode, 2, result.stderr.slice(-1000));
        assert.match(result.error?.msg ?? '', bad.message);
        assert.deepEqual(result.calls, [], 'no AWS call');
      }
    });
  }

  it('refuses a missing spec file and a bad --name before any AWS call', async () => {
    const missing = await cluster(['create', '--name', CLUSTER]);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.error?.msg ?? '', /needs the cluster spec/);
    const absent = await cluster(['plan', '--name', CLUSTER, '-f', path.join(dir, 'nope.yaml')]);
    assert.equal(absent.exitCode, 2);
    assert.match(absent.error?.msg ?? '', /cannot read the cluster spec/);
    const badName = await cluster(['plan', '--name', 'Bad_Name', '-f', specFile]);
    assert.equal(badName.exitCode, 2);
    assert.match(badName.error?.msg ?? '', /invalid --name "Bad_Name"/);
    for (const run of [missing, absent, badName]) assert.deepEqual(run.calls, []);
  });
});
