/** Errors of join material that callers handle themselves (a joining node waits on a missing secret). */

import { UsageError } from '../../core/errors.js';

/**
 * A secret of the cluster does not exist (yet): the cluster is not initialized, or the name or
 * region is wrong. A usage error for an operator; a joining node waits and retries on it.
 */
export class JoinMaterialMissingError extends UsageError {
  readonly secretId: string;
  readonly cluster: string;

  constructor(cluster: string, secretId: string, region: string, reason: 'missing' | 'deleted' = 'missing') {
    super(
      reason === 'missing'
        ? `secret ${secretId} does not exist in ${region}: cluster "${cluster}" is not initialized (or lives in another region or account)`
        : `secret ${secretId} in ${region} is scheduled for deletion: cluster "${cluster}" was destroyed`,
      {
        hint:
          reason === 'missing'
            ? "check --cluster and --region; the cluster's first control-plane node publishes it when it initializes the cluster"
            : `restore it (aws secretsmanager restore-secret --secret-id ${secretId}) or create the cluster again`,
        details: { cluster, secretId, region },
      },
    );
    this.secretId = secretId;
    this.cluster = cluster;
  }
}
