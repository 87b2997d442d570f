/**
 * The fenced join material stamp's answer to a cancellation moto cannot give (a conflicting
 * concurrent transaction, or no reason kboot knows): a StateConflictError naming the codes,
 * telling to rotate again. The lease and record conditions are tested against moto
 * (test/integration/state/fenced-material.test.ts).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { ClusterTable } from '../../../../src/adapters/aws/dynamodb-cluster-table.js';
import { updateJoinMaterial } from '../../../../src/adapters/aws/dynamodb-join-material-stamp.js';
import { StateConflictError } from '../../../../src/core/errors.js';
import type { LeaseRef } from '../../../../src/domain/state/lease.js';

const LEASE: LeaseRef = { cluster: 'prod', lock: 'rotate', owner: 'i-first', fence: 2 };
const STAMP = { updatedAt: '2025-01-02T00:00:00.000Z', tokenExpiresAt: '2025-01-03T00:00:00.000Z' };

function tableAnswering(error: Error): { table: ClusterTable; calls: () => number } {
  let calls = 0;
  const dynamodb = {
    send: async () => {
      calls += 1;
      throw error;
    },
  } as unknown as DynamoDBClient;
  const clock = { nowMs: () => 0, monotonicMs: () => 0, sleepMs: async () => {} };
  return { table: { dynamodb, tableName: 'kboot', clock }, calls: () => calls };
}

describe('updateJoinMaterial under a lease: cancelled transactions', () => {
  it('a cancellation for no failed condition is a StateConflictError naming the codes, once', async () => {
    const t = tableAnswering(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
      }),
    );
    await assert.rejects(updateJoinMaterial(t.table, 'prod', STAMP, undefined, LEASE), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.equal(
        error.message,
        'DynamoDB cancelled recording join material of cluster "prod" (None, TransactionConflict)',
      );
      assert.equal(error.hint, 'run kboot rotate again');
      return true;
    });
    assert.equal(t.calls(), 1);
  });

  it('a cancellation without reasons names none', async () => {
    const t = tableAnswering(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await assert.rejects(
      updateJoinMaterial(t.table, 'prod', STAMP, undefined, LEASE),
      /^StateConflictError: DynamoDB cancelled recording join material of cluster "prod" \(None, None\)$/,
    );
  });
});
