/**
 * The record's `upgrade` field in DynamoDB (src/domain/upgrade/roll-ports.ts UpgradeRecorder):
 * every write of the roll's progress is one transaction with the upgrade lease still held (owner
 * and fence), so a roll that lost its lease records nothing more. The last write sets the record's
 * kubernetesVersion to the target in the same update. `stopped` is written after the lease is
 * released, so it is conditional on the same roll's startedAt instead.
 */

import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StateConflictError } from '../../core/errors.js';
import { describeHolder, type LeaseRef, leaseLabel } from '../../domain/state/lease.js';
import type { UpgradeRecord } from '../../domain/upgrade/record.js';
import type { UpgradeRecorder } from '../../domain/upgrade/roll-ports.js';
import {
  type ClusterTable,
  callContext,
  cancellationReasons,
  fencedRecordUpdate,
  recordClauses,
} from './dynamodb-cluster-table.js';
import { allOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import { isConditionFailed, itemKey, META_SK, rethrowDynamo } from './dynamodb-items.js';
import { decodeLock } from './dynamodb-lease-lock.js';
import { awsErrorName } from './errors.js';

export class DynamoDbUpgradeRecorder implements UpgradeRecorder {
  readonly #table: ClusterTable;
  readonly #cluster: string;

  constructor(table: ClusterTable, cluster: string) {
    this.#table = table;
    this.#cluster = cluster;
  }

  async write(upgrade: UpgradeRecord, lease: LeaseRef, signal: AbortSignal): Promise<void> {
    await this.#fenced(
      [expression('#upgrade = :upgrade', { '#upgrade': 'upgrade' }, { ':upgrade': upgrade })],
      lease,
      signal,
      `recording the upgrade's progress (phase ${upgrade.phase}, ${upgrade.done.length} done)`,
    );
  }

  async finish(upgrade: UpgradeRecord, lease: LeaseRef, signal: AbortSignal): Promise<void> {
    await this.#fenced(
      [
        expression('#upgrade = :upgrade', { '#upgrade': 'upgrade' }, { ':upgrade': upgrade }),
        expression(
          '#kubernetesVersion = :kubernetesVersion',
          { '#kubernetesVersion': 'kubernetesVersion' },
          { ':kubernetesVersion': upgrade.to.kubernetesVersion },
        ),
      ],
      lease,
      signal,
      `recording the upgrade to ${upgrade.to.kubernetesVersion} done`,
    );
  }

  async stopped(startedAt: string, stopped: NonNullable<UpgradeRecord['stopped']>, signal: AbortSignal) {
    const params = expressionParams({
      condition: allOf(
        recordClauses.exists(),
        expression(
          '#upgrade.#startedAt = :startedAt',
          { '#upgrade': 'upgrade', '#startedAt': 'startedAt' },
          { ':startedAt': startedAt },
        ),
      ),
      update: update({
        set: [
          expression(
            '#upgrade.#stopped = :stopped',
            { '#upgrade': 'upgrade', '#stopped': 'stopped' },
            { ':stopped': stopped },
          ),
        ],
      }),
    });
    try {
      await this.#table.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#table.tableName,
          Key: itemKey(this.#cluster, META_SK),
          ...params,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      // Another roll was recorded meanwhile: its record is not this one's to mark.
      if (isConditionFailed(error)) return;
      rethrowDynamo(
        error,
        callContext(
          this.#table,
          `recording why the upgrade of cluster "${this.#cluster}" stopped`,
          'dynamodb:UpdateItem',
          signal,
        ),
      );
    }
  }

  async #fenced(
    set: ReturnType<typeof expression>[],
    lease: LeaseRef,
    signal: AbortSignal,
    doing: string,
  ): Promise<void> {
    const recordUpdate = expressionParams({ condition: recordClauses.exists(), update: update({ set }) });
    try {
      await this.#table.dynamodb.send(fencedRecordUpdate(this.#table, lease, this.#cluster, recordUpdate), {
        abortSignal: signal,
      });
    } catch (error) {
      if (awsErrorName(error) !== 'TransactionCanceledException') {
        rethrowDynamo(error, callContext(this.#table, doing, 'dynamodb:TransactWriteItems', signal));
      }
      const [lockReason, recordReason] = cancellationReasons(error);
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        const current = decodeLock(lockReason.Item, `the ${leaseLabel(this.#cluster, lease.lock)}`);
        throw new StateConflictError(
          `not ${doing}: ${lease.owner} (fence ${lease.fence}) no longer holds the ${leaseLabel(this.#cluster, lease.lock)}: ${describeHolder(current, this.#table.clock.nowMs())}`,
          {
            cause: error,
            hint: `another 'kboot cluster upgrade' took over; check \`kboot status --cluster ${this.#cluster}\``,
            details: { cluster: this.#cluster, owner: lease.owner, fence: lease.fence },
          },
        );
      }
      throw new StateConflictError(
        `DynamoDB cancelled ${doing} for cluster "${this.#cluster}" (${[lockReason, recordReason].map((r) => r?.Code ?? 'None').join(', ')})`,
        {
          cause: error,
          hint:
            recordReason?.Code === 'ConditionalCheckFailed'
              ? `the cluster record of "${this.#cluster}" is gone`
              : "run 'kboot cluster upgrade' again",
        },
      );
    }
  }
}
