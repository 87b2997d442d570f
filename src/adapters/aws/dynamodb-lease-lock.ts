/**
 * A lease lock as one DynamoDB item (pk = cluster#<name>, sk = lock#<lock>). Each operation is
 * one conditional UpdateItem; a failed condition returns the item as it was (ALL_OLD), so a lost
 * race is a typed outcome carrying the current holder without a second read. The rule for
 * acquiring comes from the domain (ACQUIRABLE_STATES), one named clause per state. No condition
 * compares times: a takeover is a condition on the record version number the contender watched.
 */

import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ACQUIRABLE_STATES,
  type AcquirableState,
  type AcquireOutcome,
  type AcquireRequest,
  type LeaseLock,
  type LeaseRef,
  type LockName,
  type LockRecord,
  leaseLabel,
  parseLockRecord,
  type ReleaseOutcome,
  type RenewOutcome,
} from '../../domain/state/lease.js';
import {
  allOf,
  anyOf,
  type Expression,
  expression,
  expressionParams,
  update,
} from './dynamodb-expressions.js';
import {
  type CallContext,
  conditionFailedItem,
  isConditionFailed,
  itemData,
  itemKey,
  lockSk,
  PK,
  rethrowDynamo,
} from './dynamodb-items.js';

/** Named clauses over a lock item. */
export const lockClauses = {
  itemAbsent: () => expression('attribute_not_exists(#pk)', { '#pk': PK }),
  noOwner: () => expression('attribute_not_exists(#owner)', { '#owner': 'owner' }),
  rvnIs: (rvn: string) => expression('#rvn = :seenRvn', { '#rvn': 'rvn' }, { ':seenRvn': rvn }),
  /** An older kboot's item (no rvn) exactly as seen: owner, fence and expiry (or none). */
  legacyVersionIs: (seen: LockRecord) =>
    allOf(
      expression('attribute_not_exists(#rvn)', { '#rvn': 'rvn' }),
      expression('#owner = :seenOwner', { '#owner': 'owner' }, { ':seenOwner': seen.owner ?? '' }),
      expression('#fence = :seenFence', { '#fence': 'fence' }, { ':seenFence': seen.fence }),
      seen.expiresAtMs === undefined
        ? expression('attribute_not_exists(#expiresAtMs)', { '#expiresAtMs': 'expiresAtMs' })
        : expression(
            '#expiresAtMs = :seenExpiresAtMs',
            { '#expiresAtMs': 'expiresAtMs' },
            { ':seenExpiresAtMs': seen.expiresAtMs },
          ),
    ),
  ownedBy: (owner: string) => expression('#owner = :owner', { '#owner': 'owner' }, { ':owner': owner }),
  fenceIs: (fence: number) => expression('#fence = :fence', { '#fence': 'fence' }, { ':fence': fence }),
};

/** The lock is still the version the contender watched (lockVersion). */
export function sameVersion(seen: LockRecord): Expression {
  return seen.rvn !== undefined ? lockClauses.rvnIs(seen.rvn) : lockClauses.legacyVersionIs(seen);
}

/** How each acquirable state of the domain reads as a condition (undefined: not possible now). */
const acquirableWhen: Record<AcquirableState, (request: AcquireRequest) => Expression | undefined> = {
  free: () => lockClauses.itemAbsent(),
  released: () => lockClauses.noOwner(),
  stale: (request) => (request.takeOver === undefined ? undefined : sameVersion(request.takeOver)),
  'held-by-me': (request) => lockClauses.ownedBy(request.owner),
};

function acquireCondition(request: AcquireRequest): Expression {
  const clauses = ACQUIRABLE_STATES.map((state) => acquirableWhen[state](request)).filter(
    (clause): clause is Expression => clause !== undefined,
  );
  return anyOf(...clauses);
}

/** owner, fence: the lease is still exactly this one. */
export function stillHeld(lease: LeaseRef): Expression {
  return allOf(lockClauses.ownedBy(lease.owner), lockClauses.fenceIs(lease.fence));
}

export function decodeLock(
  item: Parameters<typeof itemData>[0] | undefined,
  what: string,
): LockRecord | undefined {
  return item === undefined ? undefined : parseLockRecord(itemData(item), what);
}

export interface DynamoDbLeaseLockSettings {
  dynamodb: DynamoDBClient;
  tableName: string;
  cluster: string;
  name: LockName;
}

export class DynamoDbLeaseLock implements LeaseLock {
  readonly cluster: string;
  readonly name: LockName;
  readonly #dynamodb: DynamoDBClient;
  readonly #table: string;

  constructor(settings: DynamoDbLeaseLockSettings) {
    this.cluster = settings.cluster;
    this.name = settings.name;
    this.#dynamodb = settings.dynamodb;
    this.#table = settings.tableName;
  }

  get #what(): string {
    return `the ${leaseLabel(this.cluster, this.name)}`;
  }

  #call(doing: string, permission: string, signal: AbortSignal | undefined): CallContext {
    return { table: this.#table, doing: `${doing} ${this.#what}`, permission, signal };
  }

  async tryAcquire(request: AcquireRequest, signal?: AbortSignal): Promise<AcquireOutcome> {
    const expiresAtMs = request.nowMs + request.leaseMs;
    const rvn = randomUUID();
    const params = expressionParams({
      condition: acquireCondition(request),
      update: update({
        set: [
          expression('#owner = :owner', { '#owner': 'owner' }, { ':owner': request.owner }),
          expression('#rvn = :rvn', { '#rvn': 'rvn' }, { ':rvn': rvn }),
          expression('#leaseMs = :leaseMs', { '#leaseMs': 'leaseMs' }, { ':leaseMs': request.leaseMs }),
          expression(
            '#expiresAtMs = :expiresAtMs',
            { '#expiresAtMs': 'expiresAtMs' },
            { ':expiresAtMs': expiresAtMs },
          ),
          expression(
            '#acquiredAtMs = :nowMs',
            { '#acquiredAtMs': 'acquiredAtMs' },
            { ':nowMs': request.nowMs },
          ),
          expression(
            '#fence = if_not_exists(#fence, :zero) + :one',
            { '#fence': 'fence' },
            { ':zero': 0, ':one': 1 },
          ),
        ],
        remove: [
          expression('#releasedAtMs', { '#releasedAtMs': 'releasedAtMs' }),
          expression('#renewedAtMs', { '#renewedAtMs': 'renewedAtMs' }),
        ],
      }),
    });
    try {
      const out = await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: itemKey(this.cluster, lockSk(this.name)),
          ...params,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      const record = decodeLock(out.Attributes, this.#what);
      return {
        acquired: true,
        lease: {
          cluster: this.cluster,
          lock: this.name,
          owner: request.owner,
          fence: record?.fence ?? 0,
          expiresAtMs,
          rvn,
        },
      };
    } catch (error) {
      if (isConditionFailed(error)) {
        return {
          acquired: false,
          current: decodeLock(conditionFailedItem(error), this.#what) ?? { fence: 0 },
        };
      }
      rethrowDynamo(error, this.#call('acquiring', 'dynamodb:UpdateItem', signal));
    }
  }

  async renew(
    lease: LeaseRef,
    timing: { nowMs: number; leaseMs: number },
    signal?: AbortSignal,
  ): Promise<RenewOutcome> {
    const expiresAtMs = timing.nowMs + timing.leaseMs;
    const rvn = randomUUID();
    const params = expressionParams({
      condition: stillHeld(lease),
      update: update({
        set: [
          expression('#rvn = :rvn', { '#rvn': 'rvn' }, { ':rvn': rvn }),
          expression('#leaseMs = :leaseMs', { '#leaseMs': 'leaseMs' }, { ':leaseMs': timing.leaseMs }),
          expression(
            '#expiresAtMs = :expiresAtMs',
            { '#expiresAtMs': 'expiresAtMs' },
            { ':expiresAtMs': expiresAtMs },
          ),
          expression('#renewedAtMs = :nowMs', { '#renewedAtMs': 'renewedAtMs' }, { ':nowMs': timing.nowMs }),
        ],
      }),
    });
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: itemKey(this.cluster, lockSk(this.name)),
          ...params,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return { renewed: true, expiresAtMs, rvn };
    } catch (error) {
      if (isConditionFailed(error)) {
        return { renewed: false, current: decodeLock(conditionFailedItem(error), this.#what) };
      }
      rethrowDynamo(error, this.#call('renewing', 'dynamodb:UpdateItem', signal));
    }
  }

  async release(lease: LeaseRef, nowMs: number, signal?: AbortSignal): Promise<ReleaseOutcome> {
    const params = expressionParams({
      condition: stillHeld(lease),
      update: update({
        set: [expression('#releasedAtMs = :nowMs', { '#releasedAtMs': 'releasedAtMs' }, { ':nowMs': nowMs })],
        remove: [
          expression('#owner', { '#owner': 'owner' }),
          expression('#expiresAtMs', { '#expiresAtMs': 'expiresAtMs' }),
          expression('#rvn', { '#rvn': 'rvn' }),
          expression('#leaseMs', { '#leaseMs': 'leaseMs' }),
        ],
      }),
    });
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: itemKey(this.cluster, lockSk(this.name)),
          ...params,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return { released: true };
    } catch (error) {
      if (isConditionFailed(error)) {
        return { released: false, current: decodeLock(conditionFailedItem(error), this.#what) };
      }
      rethrowDynamo(error, this.#call('releasing', 'dynamodb:UpdateItem', signal));
    }
  }

  async read(signal?: AbortSignal): Promise<LockRecord | undefined> {
    try {
      const out = await this.#dynamodb.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: itemKey(this.cluster, lockSk(this.name)),
          ConsistentRead: true,
        }),
        { abortSignal: signal },
      );
      return decodeLock(out.Item, this.#what);
    } catch (error) {
      rethrowDynamo(error, this.#call('reading', 'dynamodb:GetItem', signal));
    }
  }
}
