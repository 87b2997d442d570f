/**
 * The lease lock's answers to failures, over a stand-in client that answers as the SDK does
 * (every condition of the lock itself is tested against moto in test/integration/state/): a
 * refused call names what kboot was doing, on which lease and table, and the IAM action it needs;
 * a call whose signal is already aborted sends nothing and ends with the stop's reason.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Expression } from '../../../../src/adapters/aws/dynamodb-expressions.js';
import {
  DynamoDbLeaseLock,
  lockClauses,
  sameVersion,
  stillHeld,
} from '../../../../src/adapters/aws/dynamodb-lease-lock.js';
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
function lock(answer: () => unknown): { lock: DynamoDbLeaseLock; sent: string[]; inputs: object[] } {
  const sent: string[] = [];
  const inputs: object[] = [];
  const dynamodb = {
    send: async (command: object, options?: { abortSignal?: AbortSignal }) => {
      if (options?.abortSignal?.aborted) {
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      }
      sent.push(command.constructor.name);
      inputs.push((command as { input: object }).input);
      const out = answer();
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as DynamoDBClient;
  return {
    lock: new DynamoDbLeaseLock({ dynamodb, tableName: 'kboot', cluster: 'prod', name: 'bootstrap' }),
    sent,
    inputs,
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

describe('DynamoDB lease lock: read', () => {
  it('a lock never taken reads as absent (GetItem answers without an Item)', async () => {
    const { lock: l, sent } = lock(() => ({}));
    assert.equal(await l.read(), undefined);
    assert.deepEqual(sent, ['GetItemCommand']);
  });

  it('asks for a strongly consistent read: an eventually consistent one could miss a lease taken a moment ago', async () => {
    // moto's reads are always consistent, so only the request itself can show this.
    const { lock: l, inputs } = lock(() => ({}));
    await l.read();
    assert.deepEqual(inputs, [
      {
        TableName: 'kboot',
        Key: { pk: { S: 'cluster#prod' }, sk: { S: 'lock#bootstrap' } },
        ConsistentRead: true,
      },
    ]);
  });
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

/** The placeholders an expression's text uses, and those it defines, each with what it stands for. */
function placeholders(e: Expression): {
  used: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const used = [...new Set(e.text.match(/[#:][A-Za-z]+/g) ?? [])].sort();
  return { used, names: e.names, values: e.values };
}

describe('DynamoDB lease lock: each clause defines every placeholder it uses', () => {
  // stillHeld is the lock check of other writes' transactions (the cluster table, snapshots), alone:
  // a clause that leans on a placeholder another clause of the same request happens to define breaks there.
  const cases: [string, Expression, { names: Record<string, string>; values: Record<string, unknown> }][] = [
    ['itemAbsent', lockClauses.itemAbsent(), { names: { '#pk': 'pk' }, values: {} }],
    ['noOwner', lockClauses.noOwner(), { names: { '#owner': 'owner' }, values: {} }],
    ['rvnIs', lockClauses.rvnIs('r-1'), { names: { '#rvn': 'rvn' }, values: { ':seenRvn': 'r-1' } }],
    ['ownedBy', lockClauses.ownedBy('i-a'), { names: { '#owner': 'owner' }, values: { ':owner': 'i-a' } }],
    ['fenceIs', lockClauses.fenceIs(7), { names: { '#fence': 'fence' }, values: { ':fence': 7 } }],
    [
      'stillHeld',
      stillHeld(LEASE),
      { names: { '#owner': 'owner', '#fence': 'fence' }, values: { ':owner': 'i-first', ':fence': 3 } },
    ],
    [
      'sameVersion of an item with an rvn',
      sameVersion({ owner: 'i-a', fence: 2, rvn: 'r-2', expiresAtMs: NOW_MS }),
      { names: { '#rvn': 'rvn' }, values: { ':seenRvn': 'r-2' } },
    ],
    [
      "sameVersion of an older kboot's item with an expiry",
      sameVersion({ owner: 'i-a', fence: 2, expiresAtMs: NOW_MS }),
      {
        names: { '#rvn': 'rvn', '#owner': 'owner', '#fence': 'fence', '#expiresAtMs': 'expiresAtMs' },
        values: { ':seenOwner': 'i-a', ':seenFence': 2, ':seenExpiresAtMs': NOW_MS },
      },
    ],
    [
      "sameVersion of an older kboot's item without one",
      sameVersion({ owner: 'i-a', fence: 2 }),
      {
        names: { '#rvn': 'rvn', '#owner': 'owner', '#fence': 'fence', '#expiresAtMs': 'expiresAtMs' },
        values: { ':seenOwner': 'i-a', ':seenFence': 2 },
      },
    ],
  ];
  for (const [name, clause, expected] of cases) {
    it(name, () => {
      const { used, names, values } = placeholders(clause);
      assert.deepEqual(
        used,
        [...Object.keys(expected.names), ...Object.keys(expected.values)].sort(),
        clause.text,
      );
      assert.deepEqual(names, expected.names);
      assert.deepEqual(values, expected.values);
    });
  }
});
