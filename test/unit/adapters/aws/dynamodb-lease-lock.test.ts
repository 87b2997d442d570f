/**
 * The lease lock's answers to failures, over a stand-in client that answers as the SDK does
 * (every condition of the lock itself is tested against moto in test/integration/state/): a
 * refused call names what kboot was doing, on which lease and table, and the IAM action it needs;
 * a call whose signal is already aborted sends nothing and ends with the stop's reason.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLeaseLock } from '../../../../src/adapters/aws/dynamodb-lease-lock.js';
import { AwsDeniedError, StateConflictError } from '../../../../src/core/errors.js';
import type { LeaseRef } from '../../../../src/domain/state/lease.js';

const LEASE: LeaseRef = { cluster: 'prod', lock: 'bootstrap', owner: 'i-first', fence: 3 };
const NOW_MS = Date.parse('2025-01-01T00:00:00.000Z');

function denied(): Error {
  return Object.assign(new Error('not authorized'), {
    name: 'AccessDeniedException',
    $metadata: { httpStatusCode: 400 },
  });
}

/** A lock whose client sends nothing when the call's abort signal is already aborted (as the SDK), and otherwise answers with `answer`. */
function lock(answer: () => unknown): { lock: DynamoDbLeaseLock; sent: string[] } {
  const sent: string[] = [];
  const dynamodb = {
    send: async (command: object, options?: { abortSignal?: AbortSignal }) => {
      if (options?.abortSignal?.aborted) {
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      }
      sent.push(command.constructor.name);
      const out = answer();
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as DynamoDBClient;
  return {
    lock: new DynamoDbLeaseLock({ dynamodb, tableName: 'kboot', cluster: 'prod', name: 'bootstrap' }),
    sent,
  };
}

const CALLS: [string, (l: DynamoDbLeaseLock, signal?: AbortSignal) => Promise<unknown>, string, string][] = [
  [
    'acquire',
    (l, signal) => l.tryAcquire({ owner: 'i-first', nowMs: NOW_MS, leaseMs: 30_000 }, signal),
    'acquiring',
    'UpdateItem',
  ],
  [
    'renew',
    (l, signal) => l.renew(LEASE, { nowMs: NOW_MS, leaseMs: 30_000 }, signal),
    'renewing',
    'UpdateItem',
  ],
  ['release', (l, signal) => l.release(LEASE, NOW_MS, signal), 'releasing', 'UpdateItem'],
  ['read', (l, signal) => l.read(signal), 'reading', 'GetItem'],
];

describe('DynamoDB lease lock: refused calls', () => {
  for (const [name, call, doing, action] of CALLS) {
    it(`${name}: says what it was doing on which lease and table, and the permission it needs`, async () => {
      const { lock: l, sent } = lock(denied);
      await assert.rejects(call(l), (error: unknown) => {
        assert.ok(error instanceof AwsDeniedError, String(error));
        assert.ok(
          error.message.startsWith(
            `AWS refused ${doing} the bootstrap lease of cluster "prod" in DynamoDB table kboot: `,
          ),
          error.message,
        );
        assert.equal(
          error.hint,
          `grant dynamodb:${action} to the instance role or the credentials in use (see 'kboot iam-policy')`,
        );
        return true;
      });
      assert.equal(sent.length, 1);
    });
  }
});

describe('DynamoDB lease lock: a stopped call', () => {
  for (const [name, call] of CALLS) {
    it(`${name}: sends nothing and ends with the stop's reason`, async () => {
      const { lock: l, sent } = lock(() => ({}));
      const controller = new AbortController();
      const reason = new Error('stopped by SIGTERM');
      controller.abort(reason);
      await assert.rejects(call(l, controller.signal), (error: unknown) => error === reason);
      assert.deepEqual(sent, []);
    });
  }
});

describe('DynamoDB lease lock: a malformed item', () => {
  it('is refused naming the lease and the fields that are wrong', async () => {
    const { lock: l } = lock(() => ({
      Item: { pk: { S: 'cluster#prod' }, sk: { S: 'lock#bootstrap' }, fence: { S: 'three' } },
    }));
    await assert.rejects(l.read(), (error: unknown) => {
      assert.ok(error instanceof StateConflictError, String(error));
      assert.equal(error.message, 'the bootstrap lease of cluster "prod" is malformed (fields: fence)');
      return true;
    });
  });
});
