/** SDK clients pointed at a test moto, for arranging and inspecting state from tests. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Moto } from './moto.js';

export function clientConfig(moto: Moto) {
  return {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
  };
}

export function testEc2(moto: Moto): EC2Client {
  return new EC2Client(clientConfig(moto));
}

export function testDynamo(moto: Moto): DynamoDBClient {
  return new DynamoDBClient(clientConfig(moto));
}

export function testSecrets(moto: Moto): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(moto));
}
