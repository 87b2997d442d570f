/**
 * The kboot table: created when missing (on-demand billing, keys pk/sk as strings, no TTL) and
 * waited for until ACTIVE. Used by `kboot cluster create` and by tests.
 */

import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableStatus,
} from '@aws-sdk/client-dynamodb';
import { type Clock, systemClock } from '../../core/clock.js';
import { AwsUnavailableError } from '../../core/errors.js';
import { PK, rethrowDynamo, SK } from './dynamodb-items.js';
import { awsErrorName } from './errors.js';

/**
 * The kboot table's schema, the one place it is written: keys pk (hash) and sk (range), strings;
 * on-demand billing; no TTL. Both this file and `kboot cluster create` create it from this.
 */
export const TABLE_SCHEMA: Required<
  Pick<CreateTableCommandInput, 'BillingMode' | 'KeySchema' | 'AttributeDefinitions'>
> = {
  BillingMode: 'PAY_PER_REQUEST',
  KeySchema: [
    { AttributeName: PK, KeyType: 'HASH' },
    { AttributeName: SK, KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: PK, AttributeType: 'S' },
    { AttributeName: SK, AttributeType: 'S' },
  ],
};

/** The tag that marks a table as made by kboot. */
export const MANAGED_TABLE_TAG = { Key: 'kboot.io/managed', Value: 'true' } as const;

export interface EnsureTableOptions {
  clock?: Clock;
  /** How long to wait for the table to become ACTIVE; default 2 minutes. */
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

async function tableStatus(
  dynamodb: DynamoDBClient,
  tableName: string,
  signal: AbortSignal | undefined,
): Promise<TableStatus | 'MISSING'> {
  try {
    const out = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }), {
      abortSignal: signal,
    });
    return out.Table?.TableStatus ?? 'MISSING';
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return 'MISSING';
    rethrowDynamo(error, {
      table: tableName,
      doing: 'describing the table',
      permission: 'dynamodb:DescribeTable',
      signal,
    });
  }
}

/** Creates the table if it is missing; returns whether this call created it. */
export async function ensureTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<{ created: boolean }> {
  const clock = options.clock ?? systemClock;
  const deadlineMs = clock.nowMs() + (options.timeoutMs ?? 120_000);
  let created = false;
  let status = await tableStatus(dynamodb, tableName, options.signal);
  if (status === 'MISSING') {
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: tableName,
          ...TABLE_SCHEMA,
          Tags: [{ ...MANAGED_TABLE_TAG }],
        }),
        { abortSignal: options.signal },
      );
      created = true;
    } catch (error) {
      // Someone else is creating it at the same moment: wait for theirs.
      if (awsErrorName(error) !== 'ResourceInUseException') {
        rethrowDynamo(error, {
          table: tableName,
          doing: 'creating the table',
          permission: 'dynamodb:CreateTable',
          signal: options.signal,
        });
      }
    }
    status = await tableStatus(dynamodb, tableName, options.signal);
  }
  while (status !== 'ACTIVE') {
    if (clock.nowMs() >= deadlineMs) {
      throw new AwsUnavailableError(`DynamoDB table ${tableName} did not become ACTIVE (status ${status})`, {
        hint: 'check the table in the AWS console, then run the command again',
      });
    }
    await clock.sleepMs(options.pollMs ?? 1000, options.signal);
    status = await tableStatus(dynamodb, tableName, options.signal);
  }
  return { created };
}
