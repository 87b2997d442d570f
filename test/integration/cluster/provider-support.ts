/**
 * Calling the network and compute providers directly against moto: real SDK clients pointed at
 * the test's moto, a ResourceContext with the tags the engine puts on everything and the outputs
 * of dependencies given by the test, and a clock whose sleeps are short.
 */

import { after, afterEach, before, beforeEach } from 'node:test';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import type { ClusterClients, ProviderSettings } from '../../../src/adapters/aws/cluster/provider-kit.js';
import type { Clock } from '../../../src/core/clock.js';
import {
  RESOURCE_TAGS,
  type ResourceContext,
  type ResourceRecord,
} from '../../../src/domain/cluster/resource.js';
import { clientConfig } from '../../support/aws.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { silentLogger } from '../../support/silent-logger.js';

export interface TestClients extends ClusterClients {
  raw: {
    ec2: EC2Client;
    elbv2: ElasticLoadBalancingV2Client;
    autoScaling: AutoScalingClient;
    s3: S3Client;
    iam: IAMClient;
  };
  destroy(): void;
}

export function testClients(moto: Moto, region = 'us-east-1'): TestClients {
  const config = { ...clientConfig(moto), region };
  const raw = {
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    autoScaling: new AutoScalingClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    iam: new IAMClient(config),
  };
  const others = new Map<string, S3Client>();
  return {
    raw,
    ec2: async () => raw.ec2,
    elbv2: async () => raw.elbv2,
    autoScaling: async () => raw.autoScaling,
    s3In: async (bucketRegion) => {
      if (bucketRegion === region) return raw.s3;
      let client = others.get(bucketRegion);
      if (client === undefined) {
        client = new S3Client({ ...config, region: bucketRegion, forcePathStyle: true });
        others.set(bucketRegion, client);
      }
      return client;
    },
    iam: async () => raw.iam,
    destroy: () => {
      for (const client of [...Object.values(raw), ...others.values()]) client.destroy();
    },
  };
}

/**
 * Inside a describe: one moto for the suite, reset before each test, and fresh clients for each
 * test (handed to `use`), destroyed after it.
 */
export function motoPerTest(use: (clients: TestClients, moto: Moto) => void): void {
  let moto: Moto;
  let clients: TestClients;
  before(async () => {
    moto = await startMoto();
  });
  after(() => moto.stop());
  beforeEach(async () => {
    await moto.reset();
    clients = testClients(moto);
    use(clients, moto);
  });
  afterEach(() => clients.destroy());
}

/** A clock that really sleeps, but at most 50 ms at a time. */
export const quickClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleepMs: (durationMs) => new Promise((resolve) => setTimeout(resolve, Math.min(durationMs, 50))),
};

export function settings(clients: ClusterClients, extra: Partial<ProviderSettings> = {}): ProviderSettings {
  return { clients, logger: silentLogger(), clock: quickClock, pollIntervalMs: 50, ...extra };
}

/** The tags the engine gives every resource (graph.ts resourceTags). */
export function tagsFor(cluster: string, key: string): Record<string, string> {
  return {
    team: 'platform',
    [`kubernetes.io/cluster/${cluster}`]: 'owned',
    [RESOURCE_TAGS.cluster]: cluster,
    [RESOURCE_TAGS.resource]: key,
    [RESOURCE_TAGS.managedBy]: 'kboot',
  };
}

export function context(
  cluster: string,
  outputs: Record<string, Record<string, string>> = {},
): ResourceContext {
  return {
    cluster,
    region: 'us-east-1',
    tagsFor: (key) => tagsFor(cluster, key),
    outputsOf: (key) => {
      const found = outputs[key];
      if (found === undefined) throw new Error(`no outputs recorded for ${key}`);
      return found;
    },
    signal: new AbortController().signal,
  };
}

export function outputsFrom(...records: ResourceRecord[]): Record<string, Record<string, string>> {
  return Object.fromEntries(records.map((r) => [r.key, r.outputs]));
}

/** A VPC with two subnets in two AZs. */
export async function network(ec2: EC2Client): Promise<{ vpcId: string; subnetIds: string[] }> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = vpc.Vpc?.VpcId as string;
  const subnetIds: string[] = [];
  for (const [index, az] of ['us-east-1a', 'us-east-1b'].entries()) {
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${index + 1}.0/24`, AvailabilityZone: az }),
    );
    subnetIds.push(subnet.Subnet?.SubnetId as string);
  }
  return { vpcId, subnetIds };
}
