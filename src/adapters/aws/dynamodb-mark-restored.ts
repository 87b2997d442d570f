/**
 * The fenced write that makes a restored cluster the cluster (src/domain/flows/recover/publish.ts):
 * one transaction over the bootstrap lock (still held: owner and fence) and the cluster record
 * (still initialized under the lost control plane's fence), setting `initialized`, `joinMaterial`
 * and `restoredFrom`. A holder that lost its lease, or a record another recovery already replaced,
 * writes nothing.
 */

import { StateConflictError } from '../../core/errors.js';
import type { RestoredStamp } from '../../domain/flows/recover/state.js';
import type { LeaseRef } from '../../domain/state/lease.js';
import {
  type ClusterTable,
  callContext,
  cancellationReasons,
  fencedRecordUpdate,
  recordClauses,
} from './dynamodb-cluster-table.js';
import { allOf, expression, expressionParams, update } from './dynamodb-expressions.js';
import { rethrowDynamo } from './dynamodb-items.js';
import { awsErrorName } from './errors.js';

export async function markRestored(
  table: ClusterTable,
  lease: LeaseRef,
  previousFence: number,
  stamp: RestoredStamp,
  signal: AbortSignal,
): Promise<void> {
  const params = expressionParams({
    condition: allOf(
      recordClauses.exists(),
      expression(
        '#initialized.#fence = :previousFence',
        { '#initialized': 'initialized', '#fence': 'fence' },
        { ':previousFence': previousFence },
      ),
    ),
    update: update({
      set: [
        expression(
          '#initialized = :initialized',
          { '#initialized': 'initialized' },
          { ':initialized': stamp.initialized },
        ),
        expression(
          '#joinMaterial = :joinMaterial',
          { '#joinMaterial': 'joinMaterial' },
          { ':joinMaterial': stamp.joinMaterial },
        ),
        expression(
          '#restoredFrom = :restoredFrom',
          { '#restoredFrom': 'restoredFrom' },
          { ':restoredFrom': stamp.restoredFrom },
        ),
      ],
    }),
  });
  try {
    await table.dynamodb.send(fencedRecordUpdate(table, lease, lease.cluster, params), {
      abortSignal: signal,
    });
  } catch (error) {
    if (awsErrorName(error) !== 'TransactionCanceledException') {
      rethrowDynamo(
        error,
        callContext(
          table,
          `recording cluster "${lease.cluster}" as restored`,
          'dynamodb:TransactWriteItems',
          signal,
        ),
      );
    }
    const [lockReason, recordReason] = cancellationReasons(error);
    const problems = [
      ...(lockReason?.Code === 'ConditionalCheckFailed'
        ? [`this instance (${lease.owner}, fence ${lease.fence}) no longer holds the bootstrap lease`]
        : []),
      ...(recordReason?.Code === 'ConditionalCheckFailed'
        ? [
            `the record is no longer the one initialized under fence ${previousFence} (another instance restored it?)`,
          ]
        : []),
    ];
    throw new StateConflictError(
      `cannot record cluster "${lease.cluster}" as restored: ${problems.join('; ') || 'DynamoDB cancelled the transaction'}`,
      {
        cause: error,
        hint: `this node is reset; check kboot status --cluster ${lease.cluster}`,
        details: { cluster: lease.cluster, owner: lease.owner, fence: lease.fence },
      },
    );
  }
}
