/**
 * The launch-template and asg providers against moto: the template holds IMDSv2-required, hop
 * limit 1, metadata tags on, IMDS-safe instance tags and the user-data; a changed spec becomes a
 * new version; the groups launch that version with the kboot-leave lifecycle hook and (control
 * plane) the API target group; instances carry only IMDS-safe tag keys; find adopts what a killed
 * create made; delete drains to zero, then deletes (twice → already-gone); resources made outside
 * kboot survive.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateAutoScalingGroupCommand,
  DeleteLifecycleHookCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateInstanceProfileCommand } from '@aws-sdk/client-iam';
import { parse } from 'yaml';
import { AsgProvider } from '../../../src/adapters/aws/cluster/asg.js';
import { LaunchTemplateProvider } from '../../../src/adapters/aws/cluster/launch-template.js';
import { fromAwsTags as tagMap } from '../../../src/adapters/aws/cluster/provider-kit.js';
import { ConfigError, StateConflictError } from '../../../src/core/errors.js';
import type { AsgProperties, LaunchTemplateProperties } from '../../../src/domain/cluster/compute.js';
import { LEAVE_LIFECYCLE_HOOK } from '../../../src/domain/cluster/lifecycle-hook.js';
import type { DesiredResource, ResourceRecord } from '../../../src/domain/cluster/resource.js';
import { parseNodeConfig } from '../../../src/domain/config/node-config.js';
import { context, motoPerTest, network, settings, type TestClients } from './provider-support.js';

const CLUSTER = 'prod';
const BASE_AMI = 'ami-12c6146b';
const DNS = 'kboot-prod-api-1234.elb.us-east-1.amazonaws.com';

describe('compute providers against moto', () => {
  let clients: TestClients;
  motoPerTest((fresh) => {
    clients = fresh;
  });

  /** A kboot AMI for Kubernetes 1.31.2, and the instance profile of the role. */
  async function arrange(role: 'control-plane' | 'worker' = 'control-plane') {
    const { ec2, iam } = clients.raw;
    const run = await ec2.send(new RunInstancesCommand({ ImageId: BASE_AMI, MinCount: 1, MaxCount: 1 }));
    const image = await ec2.send(
      new CreateImageCommand({ InstanceId: run.Instances?.[0]?.InstanceId as string, Name: 'kboot-1.31' }),
    );
    const imageId = image.ImageId as string;
    await ec2.send(
      new CreateTagsCommand({
        Resources: [imageId],
        Tags: [
          { Key: 'kboot.io/version', Value: '0.3.0' },
          { Key: 'kboot.io/kubernetes-version', Value: '1.31.2' },
        ],
      }),
    );
    const profile = await iam.send(
      new CreateInstanceProfileCommand({ InstanceProfileName: `kboot-prod-${role}` }),
    );
    const { vpcId, subnetIds } = await network(ec2);
    const outputs: Record<string, Record<string, string>> = {
      [`iam-instance-profile/${role}`]: {
        arn: profile.InstanceProfile?.Arn as string,
        name: profile.InstanceProfile?.InstanceProfileName as string,
      },
      nlb: { arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/x/1', dnsName: DNS },
    };
    const template: DesiredResource<LaunchTemplateProperties> = {
      key: `launch-template/${role}`,
      kind: 'launch-template',
      dependsOn: [`iam-instance-profile/${role}`, 'nlb'],
      properties: {
        name: `kboot-prod-${role}`,
        role,
        group: role,
        ami: { tags: { 'kboot.io/version': '0.3.0' }, owners: [] },
        kubernetesVersion: '1.31.2',
        instanceType: 't3.medium',
        instanceProfile: `iam-instance-profile/${role}`,
        metadataHopLimit: 1,
        nodeConfig: { table: 'kboot-prod', kubernetesVersion: '1.31.2' },
        apiEndpointFrom: 'nlb',
      },
    };
    return {
      imageId,
      vpcId,
      subnetIds,
      outputs,
      template,
      profileArn: profile.InstanceProfile?.Arn as string,
    };
  }

  it('makes a launch template with IMDSv2 required, hop limit 1, metadata tags and IMDS-safe tags', async () => {
    const { imageId, outputs, template, profileArn } = await arrange();
    const provider = new LaunchTemplateProvider(settings(clients));
    const ctx = context(CLUSTER, outputs);
    assert.equal(await provider.find(template, ctx), undefined);
    const rec = await provider.create(template, ctx);
    assert.equal(rec.outputs.version, '1');
    assert.equal(rec.outputs.name, 'kboot-prod-control-plane');

    const versions = await clients.raw.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: rec.id, Versions: ['1'] }),
    );
    const data = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
    assert.equal(data?.ImageId, imageId, 'the AMI query resolved to the kboot image');
    assert.equal(data?.InstanceType, 't3.medium');
    assert.equal(data?.IamInstanceProfile?.Arn, profileArn);
    assert.equal(data?.MetadataOptions?.HttpTokens, 'required');
    assert.equal(data?.MetadataOptions?.HttpPutResponseHopLimit, 1);
    assert.equal(data?.MetadataOptions?.InstanceMetadataTags, 'enabled');
    const instanceTags = tagMap(data?.TagSpecifications?.find((s) => s.ResourceType === 'instance')?.Tags);
    assert.deepEqual(instanceTags, {
      team: 'platform',
      KubernetesCluster: 'prod',
      'kboot.io:cluster': 'prod',
      'kboot.io:role': 'control-plane',
      'kboot.io:table': 'kboot-prod',
    });
    const userData = Buffer.from(data?.UserData ?? '', 'base64').toString('utf8');
    const written = (parse(userData) as { write_files: { content: string }[] }).write_files[0]?.content ?? '';
    const nodeConfig = parseNodeConfig(written, 'user-data');
    assert.equal(nodeConfig.apiEndpoint, `${DNS}:6443`);
    assert.equal(nodeConfig.table, 'kboot-prod');

    const described = await clients.raw.ec2.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [rec.id] }),
    );
    const tags = tagMap(described.LaunchTemplates?.[0]?.Tags);
    assert.equal(tags['kboot.io/resource'], 'launch-template/control-plane');
    assert.equal(tags['kubernetes.io/cluster/prod'], 'owned');

    // A re-run after a kill adopts it; no change planned.
    assert.deepEqual((await provider.find(template, ctx))?.outputs, rec.outputs);
    assert.deepEqual(await provider.drift(template, rec, ctx), []);
  });

  it('turns a changed spec into a new default version, and refuses a same-named template it did not make', async () => {
    const { outputs, template } = await arrange();
    const provider = new LaunchTemplateProvider(settings(clients));
    const ctx = context(CLUSTER, outputs);
    const rec = await provider.create(template, ctx);
    const changed = { ...template, properties: { ...template.properties, instanceType: 't3.large' } };
    assert.deepEqual(await provider.drift(changed, rec, ctx), [
      { field: 'instanceType', want: 't3.large', have: 't3.medium' },
    ]);
    const updated = await provider.update(changed, rec, ctx);
    assert.equal(updated.outputs.version, '2');
    assert.deepEqual(await provider.drift(changed, updated, ctx), []);
    assert.equal(await provider.update(changed, updated, ctx), updated, 'no third version for no change');
    const described = await clients.raw.ec2.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [rec.id] }),
    );
    assert.equal(described.LaunchTemplates?.[0]?.DefaultVersionNumber, 2);
    assert.equal(described.LaunchTemplates?.[0]?.LatestVersionNumber, 2);

    await clients.raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'hand-made',
        LaunchTemplateData: { ImageId: BASE_AMI },
      }),
    );
    await assert.rejects(
      provider.find({ ...template, properties: { ...template.properties, name: 'hand-made' } }, ctx),
      StateConflictError,
    );
  });

  it('says which AMI query matched nothing', async () => {
    const { outputs, template } = await arrange();
    const provider = new LaunchTemplateProvider(settings(clients));
    const missing = { ...template, properties: { ...template.properties, kubernetesVersion: '1.32.0' } };
    await assert.rejects(
      provider.create(missing, context(CLUSTER, outputs)),
      (error: unknown) =>
        error instanceof ConfigError &&
        /no available AMI matches the control-plane group's query \(tag kboot\.io\/version=0\.3\.0, Kubernetes version 1\.32\.0\)/.test(
          error.message,
        ),
    );
  });

  async function withTemplate(role: 'control-plane' | 'worker') {
    const arranged = await arrange(role);
    const templates = new LaunchTemplateProvider(settings(clients));
    const ctx0 = context(CLUSTER, arranged.outputs);
    const templateRecord = await templates.create(arranged.template, ctx0);
    return { ...arranged, templates, templateRecord };
  }

  function asgDesired(
    role: 'control-plane' | 'worker',
    subnetIds: string[],
    size: number,
    targetGroup?: string,
  ): DesiredResource<AsgProperties> {
    return {
      key: `asg/${role}`,
      kind: 'asg',
      dependsOn: [`launch-template/${role}`],
      properties: {
        name: `kboot-prod-${role}`,
        role,
        launchTemplate: `launch-template/${role}`,
        subnetIds,
        minSize: size,
        maxSize: size,
        desiredCapacity: size,
        ...(targetGroup === undefined ? {} : { targetGroup }),
        table: 'kboot-prod',
      },
    };
  }

  it('makes the control-plane group: template version, target group, lifecycle hook, tags', async () => {
    const { subnetIds, vpcId, outputs, templateRecord } = await withTemplate('control-plane');
    const tg = await clients.raw.elbv2.send(
      new CreateTargetGroupCommand({ Name: 'kboot-prod-api', Protocol: 'TCP', Port: 6443, VpcId: vpcId }),
    );
    const tgArn = tg.TargetGroups?.[0]?.TargetGroupArn as string;
    const ctx = context(CLUSTER, {
      ...outputs,
      [templateRecord.key]: templateRecord.outputs,
      'nlb-target-group/api': { arn: tgArn },
    });
    const desired = asgDesired('control-plane', subnetIds, 3, 'nlb-target-group/api');
    const provider = new AsgProvider(settings(clients));
    assert.equal(await provider.find(desired, ctx), undefined);
    const rec = await provider.create(desired, ctx);
    assert.equal(rec.id, 'kboot-prod-control-plane');

    const group = (
      await clients.raw.autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['kboot-prod-control-plane'] }),
      )
    ).AutoScalingGroups?.[0];
    assert.equal(group?.DesiredCapacity, 3);
    assert.equal(group?.MinSize, 3);
    assert.equal(group?.MaxSize, 3);
    assert.deepEqual(group?.TargetGroupARNs, [tgArn]);
    assert.equal(group?.LaunchTemplate?.LaunchTemplateId, templateRecord.id);
    assert.equal(group?.LaunchTemplate?.Version, '1');
    assert.deepEqual((group?.VPCZoneIdentifier ?? '').split(',').sort(), [...subnetIds].sort());
    const propagated = Object.fromEntries((group?.Tags ?? []).map((t) => [t.Key ?? '', t.PropagateAtLaunch]));
    assert.equal(propagated['kboot.io:role'], true);
    assert.equal(propagated.KubernetesCluster, true);
    assert.equal(propagated['kboot.io/cluster'], false);
    assert.equal(propagated['kubernetes.io/cluster/prod'], false);

    const hooks = await clients.raw.autoScaling.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'kboot-prod-control-plane' }),
    );
    assert.deepEqual(
      hooks.LifecycleHooks?.map((h) => [
        h.LifecycleHookName,
        h.LifecycleTransition,
        h.HeartbeatTimeout,
        h.DefaultResult,
      ]),
      [
        [
          LEAVE_LIFECYCLE_HOOK.name,
          LEAVE_LIFECYCLE_HOOK.transition,
          LEAVE_LIFECYCLE_HOOK.heartbeatTimeoutSeconds,
          LEAVE_LIFECYCLE_HOOK.defaultResult,
        ],
      ],
    );

    // moto launches the instances: their tags are IMDS-safe only, with the role.
    const ids = (group?.Instances ?? []).map((i) => i.InstanceId as string);
    assert.equal(ids.length, 3);
    const instances = await clients.raw.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    for (const instance of (instances.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const tags = tagMap(instance.Tags);
      assert.equal(tags['kboot.io:role'], 'control-plane');
      assert.equal(tags.KubernetesCluster, 'prod');
      for (const key of Object.keys(tags)) assert.doesNotMatch(key, /\//, `instance tag ${key}`);
    }

    assert.deepEqual((await provider.find(desired, ctx))?.id, rec.id);
    assert.deepEqual(await provider.drift(desired, rec, ctx), []);
    // A create killed before its PutLifecycleHook (as moto ignores the hook in the create call).
    await clients.raw.autoScaling.send(
      new DeleteLifecycleHookCommand({
        AutoScalingGroupName: rec.id,
        LifecycleHookName: LEAVE_LIFECYCLE_HOOK.name,
      }),
    );
    assert.deepEqual(await provider.drift(desired, rec, ctx), [
      { field: 'lifecycleHook', want: LEAVE_LIFECYCLE_HOOK.name, have: '(none)' },
    ]);
    await provider.complete(desired, rec, ctx);
    assert.deepEqual(await provider.drift(desired, rec, ctx), []);
    const shrunk = asgDesired('control-plane', subnetIds, 1, 'nlb-target-group/api');
    assert.deepEqual(
      (await provider.drift(shrunk, rec, ctx)).map((d) => d.field),
      ['minSize', 'maxSize', 'desiredCapacity'],
    );
  });

  it('updates a group to a new template version and sizes (what plan showed as drift)', async () => {
    const { subnetIds, outputs, template, templateRecord, templates } = await withTemplate('worker');
    const ctx = context(CLUSTER, { ...outputs, [templateRecord.key]: templateRecord.outputs });
    const provider = new AsgProvider(settings(clients));
    const rec = await provider.create(asgDesired('worker', subnetIds, 2), ctx);

    const bigger = { ...template, properties: { ...template.properties, instanceType: 't3.large' } };
    const newTemplate = await templates.update(bigger, templateRecord, ctx);
    const ctx2 = context(CLUSTER, { ...outputs, [templateRecord.key]: newTemplate.outputs });
    // Scaled in, not out: moto cannot launch from a version made by CreateLaunchTemplateVersion
    // (it stores that version's user-data unencoded and fails an assertion on launch).
    const wanted = asgDesired('worker', [subnetIds[0] as string], 1);
    assert.deepEqual(
      (await provider.drift(wanted, rec, ctx2)).map((d) => d.field),
      ['minSize', 'maxSize', 'desiredCapacity', 'subnetIds', 'launchTemplate.version'],
    );
    await provider.update(wanted, rec, ctx2);
    assert.deepEqual(await provider.drift(wanted, rec, ctx2), []);
    const group = (
      await clients.raw.autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [rec.id] }),
      )
    ).AutoScalingGroups?.[0];
    assert.equal(group?.LaunchTemplate?.Version, '2');
    assert.equal(group?.Instances?.length, 1);
  });

  it('drains a group to zero before deleting it (then already gone), and leaves other groups alone', async () => {
    const { subnetIds, outputs, templateRecord, templates } = await withTemplate('worker');
    const other = await clients.raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'hand-made',
        LaunchTemplateData: { ImageId: BASE_AMI },
      }),
    );
    await clients.raw.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'not-kboot',
        LaunchTemplate: { LaunchTemplateId: other.LaunchTemplate?.LaunchTemplateId, Version: '1' },
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetIds[0],
      }),
    );
    const recorded = { ...outputs, [templateRecord.key]: templateRecord.outputs };
    const ctx = context(CLUSTER, recorded);
    const desired = asgDesired('worker', subnetIds, 2);
    const provider = new AsgProvider(settings(clients));
    const rec: ResourceRecord = await provider.create(desired, ctx);
    assert.equal(rec.dependsOn[0], 'launch-template/worker');
    await assert.rejects(provider.find(desired, context('other', recorded)), StateConflictError);

    assert.equal(await provider.delete(rec, ctx), 'deleted');
    assert.equal(await provider.delete(rec, ctx), 'already-gone');
    const left = await clients.raw.autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    assert.deepEqual(
      left.AutoScalingGroups?.map((g) => [g.AutoScalingGroupName, g.Instances?.length]),
      [['not-kboot', 1]],
    );
    // Then the group's template; twice is harmless.
    assert.equal(await templates.delete(templateRecord, ctx), 'deleted');
    assert.equal(await templates.delete(templateRecord, ctx), 'already-gone');
    const templatesLeft = await clients.raw.ec2.send(new DescribeLaunchTemplatesCommand({}));
    assert.deepEqual(
      templatesLeft.LaunchTemplates?.map((t) => t.LaunchTemplateId),
      [other.LaunchTemplate?.LaunchTemplateId],
    );
  });
});
