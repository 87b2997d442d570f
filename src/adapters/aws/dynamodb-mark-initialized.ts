/**
 * The init flag: one transaction over the bootstrap lock and the cluster record, so only the
 * current lock holder sets it, once; a conflicting concurrent transaction is tried again.
 */

import { InternalError, StateConflictError } from '../../core/errors.js';
import type { Initialized, JoinMaterialStamp } from '../../domain/state/cluster-record.js';
import { describeHolder, type LeaseRef, leaseLabel } from '../../domain/state/lease.js';
import {
  type CancellationReason,
  type ClusterTable,
  callContext,
  cancellationReasons,
  fencedRecordUpdate,
  parseRecordItem,
  recordClauses,
} from './dynamodb-cluster-table.js';
import { allOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import { rethrowDynamo } from './dynamodb-items.js';
import { decodeLock } from './dynamodb-lease-lock.js';
import { awsErrorName } from './errors.js';

/** Attempts of the init transaction when DynamoDB reports a conflicting concurrent transaction. */
const TRANSACTION_ATTEMPTS = 3;

export async function markInitialized(
  table: ClusterTable,
  lease: LeaseRef,
  nowMs: number,
  signal?: AbortSignal,
  joinMaterial?: JoinMaterialStamp,
): Promise<Initialized> {
  if (lease.lock !== 'bootstrap') {
    throw new InternalError(
      `only the bootstrap lease may mark a cluster initialized, not the ${lease.lock} lease`,
    );
  }
  const initialized: Initialized = {
    by: lease.owner,
    at: new Date(nowMs).toISOString(),
    fence: lease.fence,
  };
  // Owner and fence, not time: a takeover raises the fence, so a holder that lost the lease
  // (however its clock runs) fails here.
  const setFlag = expressionParams({
    condition: allOf(recordClauses.exists(), recordClauses.notInitialized()),
    update: update({
      set: [
        expression(
          '#initialized = :initialized',
          { '#initialized': 'initialized' },
          { ':initialized': initialized },
        ),
        ...(joinMaterial === undefined
          ? []
          : [
              expression(
                '#joinMaterial = :joinMaterial',
                { '#joinMaterial': 'joinMaterial' },
                { ':joinMaterial': joinMaterial },
              ),
            ]),
      ],
    }),
  });
  const command = fencedRecordUpdate(table, lease, lease.cluster, setFlag);
  for (let attempt = 1; ; attempt++) {
    try {
      await table.dynamodb.send(command, { abortSignal: signal });
      return initialized;
    } catch (error) {
      if (awsErrorName(error) !== 'TransactionCanceledException') {
        rethrowDynamo(
          error,
          callContext(
            table,
            `marking cluster "${lease.cluster}" initialized`,
            'dynamodb:TransactWriteItems',
            signal,
          ),
        );
      }
      const reasons = cancellationReasons(error);
      const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
      const failedChecks = reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
      if (conflict && !failedChecks && attempt < TRANSACTION_ATTEMPTS) {
        await table.clock.sleepMs(100 * attempt, signal);
        continue;
      }
      throw initConflict(table, lease, nowMs, reasons, error);
    }
  }
}

function initConflict(
  table: ClusterTable,
  lease: LeaseRef,
  nowMs: number,
  reasons: CancellationReason[],
  error: unknown,
): StateConflictError {
  const [lockReason, recordReason] = reasons;
  const cluster = lease.cluster;
  const problems: string[] = [];
  if (lockReason?.Code === 'ConditionalCheckFailed') {
    const current = decodeLock(lockReason.Item, `the ${leaseLabel(cluster, lease.lock)}`);
    problems.push(
      `this instance (${lease.owner}, fence ${lease.fence}) no longer holds the ${leaseLabel(cluster, lease.lock)}: ${describeHolder(current, nowMs)}`,
    );
  }
  if (recordReason?.Code === 'ConditionalCheckFailed') {
    if (recordReason.Item === undefined) {
      problems.push(`there is no cluster record for "${cluster}" in table ${table.tableName}`);
    } else {
      const existing = parseRecordItem(table, cluster, recordReason.Item);
      const by = existing.initialized;
      problems.push(
        by === undefined
          ? 'the cluster record changed during the write'
          : `it was already initialized by ${by.by} at ${by.at} (fence ${by.fence})`,
      );
    }
  }
  if (problems.length === 0) {
    const codes = reasons.map((reason) => reason.Code ?? 'None').join(', ');
    problems.push(`DynamoDB cancelled the transaction (${codes})`);
  }
  return new StateConflictError(`cannot mark cluster "${cluster}" initialized: ${problems.join('; ')}`, {
    cause: error,
    hint: `do not run kubeadm init again; check \`kboot status --cluster ${cluster}\``,
    details: { cluster, owner: lease.owner, fence: lease.fence, reasons: reasons.map((r) => r.Code) },
  });
}
