/**
 * The API load balancer (nlb, nlb-target-group, nlb-listener) and IRSA (irsa-bucket,
 * oidc-provider) providers against moto: create → the resource exists with kboot's tags and
 * settings; find adopts one made by a run that died before recording it; delete twice → deleted
 * then already-gone; resources made outside kboot in the same moto survive.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { IrsaBucketProvider, OidcProviderProvider } from '../../../src/adapters/aws/cluster/irsa.js';
import { NlbProvider } from '../../../src/adapters/aws/cluster/nlb.js';
import { NlbListenerProvider } from '../../../src/adapters/aws/cluster/nlb-listener.js';
import { NlbTargetGroupProvider } from '../../../src/adapters/aws/cluster/nlb-target-group.js';
import { fromAwsTags as tagMap } from '../../../src/adapters/aws/cluster/provider-kit.js';
import { findClusterLoadBalancer } from '../../../src/adapters/aws/elbv2-api-endpoint.js';
import { ClusterTimeoutError, StateConflictError } from '../../../src/core/errors.js';
import type {
  IrsaBucketProperties,
  NlbListenerProperties,
  NlbProperties,
  NlbTargetGroupProperties,
  OidcProviderProperties,
} from '../../../src/domain/cluster/compute.js';
import type { DesiredResource } from '../../../src/domain/cluster/resource.js';
import { irsaIssuerUrl, OIDC_OBJECT_KEYS } from '../../../src/domain/irsa/issuer.js';
import type { Moto } from '../../support/moto.js';
import {
  context,
  motoPerTest,
  network,
  outputsFrom,
  settings,
  type TestClients,
  tagsFor,
  testClients,
} from './provider-support.js';

const CLUSTER = 'prod';

describe('network providers against moto', () => {
  let moto: Moto;
  let clients: TestClients;
  motoPerTest((fresh, suiteMoto) => {
    clients = fresh;
    moto = suiteMoto;
  });

  async function desiredApi() {
    const { vpcId, subnetIds } = await network(clients.raw.ec2);
    const nlb: DesiredResource<NlbProperties> = {
      key: 'nlb',
      kind: 'nlb',
      dependsOn: ['dynamodb-table'],
      properties: { name: 'kboot-prod-api', scheme: 'internal', subnetIds },
    };
    const tg: DesiredResource<NlbTargetGroupProperties> = {
      key: 'nlb-target-group/api',
      kind: 'nlb-target-group',
      dependsOn: ['dynamodb-table'],
      properties: { name: 'kboot-prod-api', vpcId, subnetIds, healthCheck: 'tcp' },
    };
    const listener: DesiredResource<NlbListenerProperties> = {
      key: 'nlb-listener/api',
      kind: 'nlb-listener',
      dependsOn: ['nlb', 'nlb-target-group/api'],
      properties: { loadBalancer: 'nlb', targetGroup: 'nlb-target-group/api' },
    };
    return { vpcId, subnetIds, nlb, tg, listener };
  }

  it('makes the API load balancer, its target group and listener, tagged, and the first master finds it', async () => {
    const { nlb, tg, listener, subnetIds, vpcId } = await desiredApi();
    const lbs = new NlbProvider(settings(clients));
    const tgs = new NlbTargetGroupProvider(settings(clients));
    const listeners = new NlbListenerProvider(settings(clients));
    assert.equal(await lbs.find(nlb, context(CLUSTER)), undefined);
    const lbRecord = await lbs.create(nlb, context(CLUSTER));
    const tgRecord = await tgs.create(tg, context(CLUSTER));
    const ctx = context(CLUSTER, outputsFrom(lbRecord, tgRecord));
    const listenerRecord = await listeners.create(listener, ctx);

    assert.match(lbRecord.outputs.dnsName ?? '', /elb/);
    assert.equal(lbRecord.outputs.arn, lbRecord.id);
    const described = await clients.raw.elbv2.send(
      new DescribeLoadBalancersCommand({ Names: ['kboot-prod-api'] }),
    );
    const lb = described.LoadBalancers?.[0];
    assert.equal(lb?.Type, 'network');
    assert.equal(lb?.Scheme, 'internal');
    assert.deepEqual((lb?.AvailabilityZones ?? []).map((z) => z.SubnetId).sort(), [...subnetIds].sort());
    const tags = await clients.raw.elbv2.send(
      new DescribeTagsCommand({ ResourceArns: [lbRecord.id, tgRecord.id, listenerRecord.id] }),
    );
    for (const description of tags.TagDescriptions ?? []) {
      const t = tagMap(description.Tags);
      assert.equal(t['kubernetes.io/cluster/prod'], 'owned', description.ResourceArn);
      assert.equal(t['kboot.io/cluster'], 'prod');
      assert.equal(t['kboot.io/managed-by'], 'kboot');
    }

    const group = (
      await clients.raw.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tgRecord.id] }))
    ).TargetGroups?.[0];
    assert.equal(group?.Protocol, 'TCP');
    assert.equal(group?.Port, 6443);
    assert.equal(group?.TargetType, 'instance');
    assert.equal(group?.VpcId, vpcId);
    assert.equal(group?.HealthCheckProtocol, 'TCP');

    const l = (await clients.raw.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lbRecord.id })))
      .Listeners;
    assert.equal(l?.length, 1);
    assert.equal(l?.[0]?.Port, 6443);
    assert.equal(l?.[0]?.Protocol, 'TCP');
    assert.equal(l?.[0]?.DefaultActions?.[0]?.TargetGroupArn, tgRecord.id);

    const lbAttributes = await clients.raw.elbv2.send(
      new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbRecord.id }),
    );
    assert.equal(tagMap(lbAttributes.Attributes)['load_balancing.cross_zone.enabled'], 'true');
    const tgAttributes = await clients.raw.elbv2.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgRecord.id }),
    );
    assert.equal(tagMap(tgAttributes.Attributes)['preserve_client_ip.enabled'], 'false');

    // How a first master without a cluster record finds the endpoint.
    assert.equal(
      (await findClusterLoadBalancer(clients.raw.elbv2, CLUSTER))?.dnsName,
      lbRecord.outputs.dnsName,
    );

    assert.deepEqual(await lbs.drift(nlb, lbRecord, ctx), []);
    assert.deepEqual(await tgs.drift(tg, tgRecord, ctx), []);
    assert.deepEqual(await listeners.drift(listener, listenerRecord, ctx), []);
    assert.deepEqual(
      await lbs.drift(
        { ...nlb, properties: { ...nlb.properties, scheme: 'internet-facing' } },
        lbRecord,
        ctx,
      ),
      [{ field: 'scheme', want: 'internet-facing', have: 'internal' }],
    );
    assert.deepEqual(
      (await tgs.drift({ ...tg, properties: { ...tg.properties, healthCheck: 'https' } }, tgRecord, ctx)).map(
        (d) => d.field,
      ),
      ['healthCheck.protocol', 'healthCheck.path'],
    );
  });

  it('adopts what a killed create made, and refuses a same-named resource kboot did not make', async () => {
    const { nlb, tg, listener, vpcId } = await desiredApi();
    const lbs = new NlbProvider(settings(clients));
    const tgs = new NlbTargetGroupProvider(settings(clients));
    const listeners = new NlbListenerProvider(settings(clients));
    const lbRecord = await lbs.create(nlb, context(CLUSTER));
    const tgRecord = await tgs.create(tg, context(CLUSTER));
    const ctx = context(CLUSTER, outputsFrom(lbRecord, tgRecord));
    const listenerRecord = await listeners.create(listener, ctx);
    // The re-run: nothing was recorded, find returns the same resources.
    const found = [await lbs.find(nlb, ctx), await tgs.find(tg, ctx), await listeners.find(listener, ctx)];
    assert.deepEqual(
      found.map((r) => [r?.id, r?.outputs]),
      [lbRecord, tgRecord, listenerRecord].map((r) => [r.id, r.outputs]),
    );
    const all = await clients.raw.elbv2.send(new DescribeLoadBalancersCommand({}));
    assert.equal(all.LoadBalancers?.length, 1, 'no duplicate');

    // Killed between the create and its attributes: plan shows it, complete sets them.
    await clients.raw.elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbRecord.id,
        Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }],
      }),
    );
    await clients.raw.elbv2.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tgRecord.id,
        Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'true' }],
      }),
    );
    assert.deepEqual(await lbs.drift(nlb, lbRecord, ctx), [
      { field: 'attributes.load_balancing.cross_zone.enabled', want: 'true', have: 'false' },
    ]);
    assert.deepEqual(await tgs.drift(tg, tgRecord, ctx), [
      { field: 'attributes.preserve_client_ip.enabled', want: 'false', have: 'true' },
    ]);
    await lbs.complete(nlb, lbRecord, ctx);
    await tgs.complete(tg, tgRecord, ctx);
    assert.deepEqual(await lbs.drift(nlb, lbRecord, ctx), []);
    assert.deepEqual(await tgs.drift(tg, tgRecord, ctx), []);

    // Another cluster's resource of the same name is not taken over.
    await assert.rejects(lbs.find(nlb, context('other')), StateConflictError);
    await clients.raw.elbv2.send(
      new CreateTargetGroupCommand({ Name: 'hand-made', Protocol: 'TCP', Port: 6443, VpcId: vpcId }),
    );
    await assert.rejects(
      tgs.find({ ...tg, properties: { ...tg.properties, name: 'hand-made' } }, ctx),
      (error: unknown) =>
        error instanceof StateConflictError &&
        /hand-made exists but was not made by kboot/.test(error.message),
    );
  });

  it('deletes listener, load balancer and target group (then says already gone), leaving the rest', async () => {
    const { nlb, tg, listener, subnetIds, vpcId } = await desiredApi();
    const other = await clients.raw.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: 'not-kboot',
        Type: 'network',
        Subnets: [subnetIds[0] as string],
      }),
    );
    const otherTg = await clients.raw.elbv2.send(
      new CreateTargetGroupCommand({ Name: 'not-kboot', Protocol: 'TCP', Port: 80, VpcId: vpcId }),
    );
    const lbs = new NlbProvider(settings(clients));
    const tgs = new NlbTargetGroupProvider(settings(clients));
    const listeners = new NlbListenerProvider(settings(clients));
    const lbRecord = await lbs.create(nlb, context(CLUSTER));
    const tgRecord = await tgs.create(tg, context(CLUSTER));
    const ctx = context(CLUSTER, outputsFrom(lbRecord, tgRecord));
    const listenerRecord = await listeners.create(listener, ctx);

    assert.equal(await listeners.delete(listenerRecord, ctx), 'deleted');
    assert.equal(await lbs.delete(lbRecord, ctx), 'deleted');
    assert.equal(await tgs.delete(tgRecord, ctx), 'deleted');
    assert.equal(await listeners.delete(listenerRecord, ctx), 'already-gone');
    assert.equal(await lbs.delete(lbRecord, ctx), 'already-gone');
    assert.equal(await tgs.delete(tgRecord, ctx), 'already-gone');

    const lbsLeft = await clients.raw.elbv2.send(new DescribeLoadBalancersCommand({}));
    assert.deepEqual(
      lbsLeft.LoadBalancers?.map((lb) => lb.LoadBalancerArn),
      [other.LoadBalancers?.[0]?.LoadBalancerArn],
    );
    const tgsLeft = await clients.raw.elbv2.send(new DescribeTargetGroupsCommand({}));
    assert.deepEqual(
      tgsLeft.TargetGroups?.map((t) => t.TargetGroupArn),
      [otherTg.TargetGroups?.[0]?.TargetGroupArn],
    );
  });

  it('waits for a target group a listener still holds, within the bound', async () => {
    const { nlb, tg, listener } = await desiredApi();
    const lbs = new NlbProvider(settings(clients));
    const tgs = new NlbTargetGroupProvider(settings(clients));
    const listeners = new NlbListenerProvider(settings(clients));
    const lbRecord = await lbs.create(nlb, context(CLUSTER));
    const tgRecord = await tgs.create(tg, context(CLUSTER));
    const ctx = context(CLUSTER, outputsFrom(lbRecord, tgRecord));
    const listenerRecord = await listeners.create(listener, ctx);
    const impatient = new NlbTargetGroupProvider(settings(clients, { deleteTimeoutMs: 300 }));
    await assert.rejects(
      impatient.delete(tgRecord, ctx),
      (error: unknown) =>
        error instanceof ClusterTimeoutError &&
        /target group .* to be released .*still in use/.test(error.message),
    );
    // Released while it waits: then deleted.
    const deleting = tgs.delete(tgRecord, ctx);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await listeners.delete(listenerRecord, ctx), 'deleted');
    assert.equal(await deleting, 'deleted');
  });

  describe('IRSA', () => {
    const bucket = 'prod-k8s-oidc';
    const desiredBucket: DesiredResource<IrsaBucketProperties> = {
      key: 'irsa-bucket',
      kind: 'irsa-bucket',
      dependsOn: ['dynamodb-table'],
      properties: { bucket, region: 'us-east-1' },
    };
    const issuer = irsaIssuerUrl(bucket, 'us-east-1');
    const desiredProvider: DesiredResource<OidcProviderProperties> = {
      key: 'oidc-provider',
      kind: 'oidc-provider',
      dependsOn: ['irsa-bucket'],
      properties: { issuer },
    };

    it('makes a bucket readable only at the two OIDC keys, and the IAM OIDC provider for its issuer', async () => {
      const buckets = new IrsaBucketProvider(settings(clients));
      const providers = new OidcProviderProvider(settings(clients));
      const ctx = context(CLUSTER);
      assert.equal(await buckets.find(desiredBucket, ctx), undefined);
      const bucketRecord = await buckets.create(desiredBucket, ctx);
      assert.equal(bucketRecord.id, bucket);
      const tags = await clients.raw.s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
      assert.equal(tagMap(tags.TagSet)['kboot.io/resource'], 'irsa-bucket');
      const policy = JSON.parse(
        (await clients.raw.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}',
      ) as { Statement: { Principal: string; Action: string; Resource: string[] }[] };
      assert.equal(policy.Statement.length, 1);
      assert.equal(policy.Statement[0]?.Principal, '*');
      assert.equal(policy.Statement[0]?.Action, 's3:GetObject');
      assert.deepEqual(
        policy.Statement[0]?.Resource,
        OIDC_OBJECT_KEYS.map((key) => `arn:aws:s3:::${bucket}/${key}`),
      );
      const block = await clients.raw.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
      assert.deepEqual(
        { ...block.PublicAccessBlockConfiguration },
        {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: false,
          RestrictPublicBuckets: false,
        },
      );
      assert.deepEqual(await buckets.drift(desiredBucket, bucketRecord, ctx), []);

      assert.equal(await providers.find(desiredProvider, ctx), undefined);
      const providerRecord = await providers.create(desiredProvider, ctx);
      const got = await clients.raw.iam.send(
        new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerRecord.id }),
      );
      assert.deepEqual(got.ClientIDList, ['sts.amazonaws.com']);
      assert.deepEqual(got.ThumbprintList ?? [], []);
      assert.equal(tagMap(got.Tags)['kboot.io/cluster'], CLUSTER);
      assert.match(providerRecord.id, /:oidc-provider\/prod-k8s-oidc\.s3\.us-east-1\.amazonaws\.com$/);
      assert.deepEqual(await providers.drift(desiredProvider, providerRecord, ctx), []);

      // A re-run after a kill: found, not made twice.
      assert.equal((await buckets.find(desiredBucket, ctx))?.adopted, undefined);
      assert.equal((await providers.find(desiredProvider, ctx))?.id, providerRecord.id);
    });

    it('completes a bucket whose create stopped before its policy, and adopts hand-made ones without owning them', async () => {
      const buckets = new IrsaBucketProvider(settings(clients));
      const providers = new OidcProviderProvider(settings(clients));
      const ctx = context(CLUSTER);
      // Tagged by kboot but no policy yet: not found, so create runs again over the same bucket.
      await clients.raw.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await clients.raw.s3.send(
        new PutBucketTaggingCommand({
          Bucket: bucket,
          Tagging: {
            TagSet: Object.entries(tagsFor(CLUSTER, 'irsa-bucket')).map(([Key, Value]) => ({ Key, Value })),
          },
        }),
      );
      const found = await buckets.find(desiredBucket, ctx);
      assert.equal(found?.id, bucket);
      assert.equal(found?.adopted, undefined);
      assert.deepEqual(
        (await buckets.drift(desiredBucket, found, ctx)).map((d) => d.field),
        [
          'policy',
          'publicAccessBlock.BlockPublicAcls',
          'publicAccessBlock.IgnorePublicAcls',
          'publicAccessBlock.BlockPublicPolicy',
          'publicAccessBlock.RestrictPublicBuckets',
        ],
      );
      await buckets.complete(desiredBucket, found, ctx);
      assert.deepEqual(await buckets.drift(desiredBucket, found, ctx), []);

      const handMade = 'hand-made-oidc';
      await clients.raw.s3.send(new CreateBucketCommand({ Bucket: handMade }));
      const adopted = await buckets.find(
        { ...desiredBucket, properties: { bucket: handMade, region: 'us-east-1' } },
        ctx,
      );
      assert.equal(adopted?.adopted, true);
      const handIssuer = irsaIssuerUrl(handMade, 'us-east-1');
      await clients.raw.iam.send(
        new CreateOpenIDConnectProviderCommand({ Url: handIssuer, ClientIDList: ['sts.amazonaws.com'] }),
      );
      const adoptedProvider = await providers.find(
        { ...desiredProvider, properties: { issuer: handIssuer } },
        ctx,
      );
      assert.equal(adoptedProvider?.adopted, true);
    });

    it('deletes the OIDC documents and the bucket, and the provider (then already gone), leaving the rest', async () => {
      const buckets = new IrsaBucketProvider(settings(clients));
      const providers = new OidcProviderProvider(settings(clients));
      const ctx = context(CLUSTER);
      await clients.raw.s3.send(new CreateBucketCommand({ Bucket: 'someone-elses' }));
      const otherIssuer = irsaIssuerUrl('someone-elses', 'us-east-1');
      await clients.raw.iam.send(
        new CreateOpenIDConnectProviderCommand({ Url: otherIssuer, ClientIDList: ['x'] }),
      );
      const bucketRecord = await buckets.create(desiredBucket, ctx);
      const providerRecord = await providers.create(desiredProvider, ctx);
      for (const key of OIDC_OBJECT_KEYS) {
        await clients.raw.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{}' }));
      }
      assert.equal(await providers.delete(providerRecord, ctx), 'deleted');
      assert.equal(await buckets.delete(bucketRecord, ctx), 'deleted');
      assert.equal(await providers.delete(providerRecord, ctx), 'already-gone');
      assert.equal(await buckets.delete(bucketRecord, ctx), 'already-gone');
      await assert.rejects(clients.raw.s3.send(new HeadBucketCommand({ Bucket: bucket })));
      const left = await clients.raw.s3.send(new ListBucketsCommand({}));
      assert.deepEqual(
        left.Buckets?.map((b) => b.Name),
        ['someone-elses'],
      );
      const providersLeft = await clients.raw.iam.send(new ListOpenIDConnectProvidersCommand({}));
      assert.equal(providersLeft.OpenIDConnectProviderList?.length, 1);
    });

    it('makes the bucket in its own region when that is not the cluster region', async () => {
      const euClients = testClients(moto, 'eu-west-1');
      try {
        const buckets = new IrsaBucketProvider(settings(euClients));
        const ctx = { ...context(CLUSTER), region: 'eu-west-1' };
        const desired = { ...desiredBucket, properties: { bucket, region: 'eu-central-1' } };
        const rec = await buckets.create(desired, ctx);
        const location = await euClients.raw.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
        assert.equal(location.LocationConstraint, 'eu-central-1');
        assert.deepEqual(await buckets.drift(desired, rec, ctx), []);
        assert.equal(await buckets.delete(rec, ctx), 'deleted');
      } finally {
        euClients.destroy();
      }
    });

    it('does not empty a bucket holding objects kboot did not put there', async () => {
      const buckets = new IrsaBucketProvider(settings(clients));
      const ctx = context(CLUSTER);
      const bucketRecord = await buckets.create(desiredBucket, ctx);
      await clients.raw.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'keep/me.txt', Body: 'x' }));
      await assert.rejects(
        buckets.delete(bucketRecord, ctx),
        (error: unknown) =>
          error instanceof StateConflictError && /objects kboot did not put there/.test(error.message),
      );
      await clients.raw.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    });
  });
});
