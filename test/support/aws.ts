/** SDK clients pointed at a test moto, for arranging and inspecting state from tests. */

import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Moto } from './moto.js';

const REGION_AND_CREDENTIALS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
};

export function clientConfig(moto: Moto) {
  return { endpoint: moto.endpoint, ...REGION_AND_CREDENTIALS };
}

/**
 * As clientConfig, for a client made before its moto has started (a `useMoto()` handle at the top
 * of a file): the endpoint is read when a request is made.
 */
export function deferredClientConfig(moto: Moto) {
  return {
    endpoint: async () => ({ url: new URL(moto.endpoint) }),
    ...REGION_AND_CREDENTIALS,
  };
}

export function testEc2(moto: Moto): EC2Client {
  return new EC2Client(clientConfig(moto));
}

export function testDynamo(moto: Moto): DynamoDBClient {
  return new DynamoDBClient(clientConfig(moto));
}

/** One item of a cluster in the default table, read consistently (undefined when absent). */
export async function readClusterItem(
  moto: Moto,
  cluster: string,
  sk: string,
): Promise<Record<string, unknown> | undefined> {
  const dynamodb = testDynamo(moto);
  try {
    const out = await dynamodb.send(
      new GetItemCommand({
        TableName: 'kboot',
        Key: { pk: { S: `cluster#${cluster}` }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : unmarshall(out.Item);
  } finally {
    dynamodb.destroy();
  }
}

export function testSecrets(moto: Moto): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(moto));
}

/** A network load balancer in moto (in a new VPC and subnet), with tags; returns its DNS name. */
export async function createLoadBalancer(
  moto: Moto,
  name: string,
  tags: Record<string, string>,
): Promise<string> {
  const ec2 = testEc2(moto);
  const elbv2 = new ElasticLoadBalancingV2Client(clientConfig(moto));
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnet = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpc.Vpc?.VpcId,
        CidrBlock: '10.0.1.0/24',
        AvailabilityZone: 'us-east-1a',
      }),
    );
    const out = await elbv2.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internal',
        Subnets: [subnet.Subnet?.SubnetId as string],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return out.LoadBalancers?.[0]?.DNSName as string;
  } finally {
    ec2.destroy();
    elbv2.destroy();
  }
}
