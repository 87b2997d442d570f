/**
 * The init transaction's answers moto cannot give: DynamoDB cancelling it for a conflicting
 * concurrent transaction (tried again, with a growing pause, three attempts in all) or for a
 * reason kboot does not know. The client is a stand-in that answers as the SDK throws; every
 * condition of the transaction itself is tested against moto (test/integration/state/).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DynamoDBClient,
  TransactionCanceledException,
  type TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { ClusterTable } from '../../../../src/adapters/aws/dynamodb-cluster-table.js';
import { markInitialized } from '../../../../src/adapters/aws/dynamodb-mark-initialized.js';
import { InternalError, StateConflictError } from '../../../../src/core/errors.js';
import { newClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import type { LeaseRef } from '../../../../src/domain/state/lease.js';

const LEASE: LeaseRef = { cluster: 'prod', lock: 'bootstrap', owner: 'i-first', fence: 3 };
const NOW_MS = Date.parse('2025-01-01T00:00:00.000Z');

function cancelled(...codes: (string | undefined)[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => (Code === undefined ? {} : { Code })),
  });
}

/** A table whose client answers each TransactWriteItems with the next of `answers` (an error or success). */
function table(answers: (Error | 'ok')[]): {
  table: ClusterTable;
  sent: TransactWriteItemsCommand[];
  sleeps: number[];
} {
  const sent: TransactWriteItemsCommand[] = [];
  const sleeps: number[] = [];
  const dynamodb = {
    send: async (command: TransactWriteItemsCommand) => {
      sent.push(command);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('more calls than the test expected');
      if (answer !== 'ok') throw answer;
      return {};
    },
  } as unknown as DynamoDBClient;
  const clock = {
    nowMs: () => NOW_MS,
    monotonicMs: () => 0,
    sleepMs: async (ms: number) => {
      sleeps.push(ms);
    },
  };
  return { table: { dynamodb, tableName: 'kboot', clock }, sent, sleeps };
}

describe('markInitialized: cancelled transactions', () => {
  it('tries a conflicting concurrent transaction again, pausing 100 then 200 ms, and sets the flag on the third attempt', async () => {
    const t = table([
      cancelled('None', 'TransactionConflict'),
      cancelled('TransactionConflict', 'None'),
      'ok',
    ]);
    const initialized = await markInitialized(t.table, LEASE, NOW_MS);
    assert.deepEqual(initialized, { by: 'i-first', at: '2025-01-01T00:00:00.000Z', fence: 3 });
    assert.equal(t.sent.length, 3);
    assert.deepEqual(t.sleeps, [100, 200]);
  });

  it('gives up after three conflicting attempts with a StateConflictError naming the reasons', async () => {
    const t = table([
      cancelled('None', 'TransactionConflict'),
      cancelled('None', 'TransactionConflict'),
      cancelled(undefined, 'TransactionConflict'),
    ]);
    await assert.rejects(markInitialized(t.table, LEASE, NOW_MS), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.equal(
        error.message,
        'cannot mark cluster "prod" initialized: DynamoDB cancelled the transaction (None, TransactionConflict)',
      );
      assert.equal(error.hint, 'do not run kubeadm init again; check `kboot status --cluster prod`');
      assert.deepEqual(error.details, {
        cluster: 'prod',
        owner: 'i-first',
        fence: 3,
        reasons: [undefined, 'TransactionConflict'],
      });
      return true;
    });
    assert.equal(t.sent.length, 3);
    assert.deepEqual(t.sleeps, [100, 200]);
  });

  it('a lock item in the refusal that is malformed is named by its lease', async () => {
    const refusal = new TransactionCanceledException({
      message:
        'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [
        {
          Code: 'ConditionalCheckFailed',
          Item: marshall({ pk: 'cluster#prod', sk: 'lock#bootstrap', fence: 'three' }),
        },
        { Code: 'None' },
      ],
    });
    const t = table([refusal]);
    await assert.rejects(markInitialized(t.table, LEASE, NOW_MS), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.equal(error.message, 'the bootstrap lease of cluster "prod" is malformed (fields: fence)');
      return true;
    });
  });

  it('does not try again when a condition failed too: the lease or the record said no', async () => {
    const t = table([cancelled('TransactionConflict', 'ConditionalCheckFailed')]);
    await assert.rejects(markInitialized(t.table, LEASE, NOW_MS), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(error.message, /there is no cluster record for "prod" in table kboot/);
      return true;
    });
    assert.equal(t.sent.length, 1);
    assert.deepEqual(t.sleeps, []);
  });

  it('a record condition that failed on a record not initialized says the record changed during the write', async () => {
    const record = newClusterRecord(
      {
        clusterName: 'prod',
        region: 'us-east-1',
        apiEndpoint: 'api.prod.example.com',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: '1.31.2',
        createdBy: 'i-first',
        createdAt: '2025-01-01T00:00:00.000Z',
      },
      'kboot',
    );
    const error = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Item: marshall({ pk: 'cluster#prod', sk: 'meta', ...record }) },
      ],
    });
    const t = table([error]);
    await assert.rejects(
      markInitialized(t.table, LEASE, NOW_MS),
      /^StateConflictError: cannot mark cluster "prod" initialized: the cluster record changed during the write$/,
    );
    assert.equal(t.sent.length, 1);
  });

  it('does not try again for any other cancellation', async () => {
    const t = table([cancelled('None', 'ValidationError')]);
    await assert.rejects(
      markInitialized(t.table, LEASE, NOW_MS),
      /^StateConflictError: cannot mark cluster "prod" initialized: DynamoDB cancelled the transaction \(None, ValidationError\)$/,
    );
    assert.equal(t.sent.length, 1);
  });

  it('a cancellation without reasons says so', async () => {
    const t = table([
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: { httpStatusCode: 400 },
      }),
    ]);
    await assert.rejects(
      markInitialized(t.table, LEASE, NOW_MS),
      /^StateConflictError: cannot mark cluster "prod" initialized: DynamoDB cancelled the transaction \(\)$/,
    );
  });

  it('refuses any lease but the bootstrap lease, before calling DynamoDB', async () => {
    const t = table([]);
    await assert.rejects(markInitialized(t.table, { ...LEASE, lock: 'rotate' }, NOW_MS), (error: unknown) => {
      assert.ok(error instanceof InternalError);
      assert.equal(
        error.message,
        'only the bootstrap lease may mark a cluster initialized, not the rotate lease',
      );
      return true;
    });
    assert.equal(t.sent.length, 0);
  });
});
