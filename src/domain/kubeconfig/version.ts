/**
 * Which admin.conf version `kboot kubeconfig` reads: the Secrets Manager VersionId the cluster
 * record names (`joinMaterial.versions.adminConf`, recorded by the fenced write that marked the
 * cluster initialized), never whatever AWSCURRENT points at now — a master that lost its lease
 * may have put its own version there. A record written before versions were recorded names none:
 * then AWSCURRENT, as earlier kboot read. No record, or a record not yet initialized, is a cluster
 * whose admin.conf is not to be used. Pure.
 */

import { UsageError } from '../../core/errors.js';
import type { ClusterRecord } from '../state/cluster-record.js';

/** Where the record was looked for, for messages. */
export interface RecordPlace {
  cluster: string;
  table: string;
  region: string;
}

/** The version to read: a VersionId, or `undefined` for AWSCURRENT (a record that names none). */
export interface AdminConfVersion {
  versionId: string | undefined;
}

export function adminConfVersion(record: ClusterRecord | undefined, place: RecordPlace): AdminConfVersion {
  const { cluster, table, region } = place;
  if (record === undefined) {
    throw new UsageError(
      `cluster "${cluster}" is not initialized: no cluster record in DynamoDB table ${table} (region ${region})`,
      {
        hint: "check --cluster, --region and --table; the cluster's first control-plane node records the cluster when it initializes it",
        details: { cluster, table, region },
      },
    );
  }
  if (record.initialized === undefined) {
    throw new UsageError(
      `cluster "${cluster}" is not initialized yet (DynamoDB table ${table}, region ${region}): its admin.conf is not one to use`,
      {
        hint: `wait for the first control-plane node to finish (kboot status --cluster ${cluster} shows progress and any failure), then run this again`,
        details: { cluster, table, region },
      },
    );
  }
  return { versionId: record.joinMaterial?.versions?.adminConf };
}
