/**
 * How the network and compute providers report an AWS refusal: the error class of the exit code
 * (denied → 4, unavailable → 3) and a hint naming the IAM action that was missing. moto allows
 * everything, so a narrow stub gives the one answer (test/support/aws-stub.ts).
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { AsgProvider } from '../../../src/adapters/aws/cluster/asg.js';
import { OidcProviderProvider } from '../../../src/adapters/aws/cluster/irsa.js';
import { LaunchTemplateProvider } from '../../../src/adapters/aws/cluster/launch-template.js';
import { NlbProvider } from '../../../src/adapters/aws/cluster/nlb.js';
import type { ClusterClients } from '../../../src/adapters/aws/cluster/provider-kit.js';
import { AwsDeniedError, AwsUnavailableError } from '../../../src/core/errors.js';
import type { ResourceRecord } from '../../../src/domain/cluster/resource.js';
import { type AwsErrorStub, startAwsErrorStub } from '../../support/aws-stub.js';
import { context, settings } from './provider-support.js';

function stubClients(stub: AwsErrorStub): ClusterClients & { destroy(): void } {
  const config = {
    endpoint: stub.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const raw = {
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    autoScaling: new AutoScalingClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    iam: new IAMClient(config),
  };
  return {
    ec2: async () => raw.ec2,
    elbv2: async () => raw.elbv2,
    autoScaling: async () => raw.autoScaling,
    s3In: async () => raw.s3,
    iam: async () => raw.iam,
    destroy: () => {
      for (const client of Object.values(raw)) client.destroy();
    },
  };
}

const record = (id: string): ResourceRecord => ({
  key: 'k',
  kind: 'k',
  id,
  dependsOn: [],
  outputs: {},
  createdAt: '2026-11-23T00:00:00.000Z',
});

const calls = [
  {
    what: 'looking for a launch template',
    call: (c: ClusterClients) =>
      new LaunchTemplateProvider(settings(c)).find(
        {
          key: 'launch-template/x',
          kind: 'launch-template',
          dependsOn: [],
          properties: { name: 'kboot-p-x' } as never,
        },
        context('p'),
      ),
    permission: 'ec2:DescribeLaunchTemplates',
  },
  {
    what: 'creating the load balancer',
    call: (c: ClusterClients) =>
      new NlbProvider(settings(c)).create(
        {
          key: 'nlb',
          kind: 'nlb',
          dependsOn: [],
          properties: { name: 'kboot-p-api', scheme: 'internal', subnetIds: ['subnet-0123456789abcdef0'] },
        },
        context('p'),
      ),
    permission: 'elasticloadbalancing:CreateLoadBalancer',
  },
  {
    what: 'deleting an Auto Scaling group',
    call: (c: ClusterClients) => new AsgProvider(settings(c)).delete(record('kboot-p-workers'), context('p')),
    permission: 'autoscaling:DescribeAutoScalingGroups',
  },
  {
    what: 'deleting the OIDC provider',
    call: (c: ClusterClients) =>
      new OidcProviderProvider(settings(c)).delete(
        record('arn:aws:iam::123456789012:oidc-provider/b.s3.us-east-1.amazonaws.com'),
        context('p'),
      ),
    permission: 'iam:GetOpenIDConnectProvider',
  },
] as const;

describe('provider errors', () => {
  describe('access denied', () => {
    let stub: AwsErrorStub;
    before(async () => {
      stub = await startAwsErrorStub(
        403,
        'UnauthorizedOperation',
        'You are not authorized to perform this operation.',
      );
    });
    after(() => stub.stop());

    for (const { what, call, permission } of calls) {
      it(`${what}: exit code 4, the hint names ${permission}`, async () => {
        const clients = stubClients(stub);
        try {
          await assert.rejects(
            call(clients),
            (error: unknown) =>
              error instanceof AwsDeniedError &&
              error.exitCode === 4 &&
              (error.hint ?? '').includes(permission),
          );
        } finally {
          clients.destroy();
        }
      });
    }
  });

  it('AWS unavailable: exit code 3', async () => {
    const stub = await startAwsErrorStub(503, 'ServiceUnavailable', 'try again');
    const clients = stubClients(stub);
    try {
      await assert.rejects(calls[0].call(clients), (error: unknown) => error instanceof AwsUnavailableError);
    } finally {
      clients.destroy();
      await stub.stop();
    }
  });
});
