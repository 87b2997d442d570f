/**
 * The cluster spec's `backup` section: the S3 bucket of the etcd snapshots (`kboot etcd snapshot`,
 * docs/backup.md). `kboot cluster create` makes it (`create: true`, the default) or checks that a
 * bucket someone else made exists and uses it (`create: false`): never changed, never deleted.
 */

import { z } from 'zod';
import { BackupConfigSchema } from '../backup/settings.js';

/** Noncurrent versions of snapshot objects under `<cluster>/etcd/` expire after this many days. */
export const BACKUP_NONCURRENT_DAYS = 30;

export const BackupSpecSchema = z
  .strictObject({
    bucket: BackupConfigSchema.shape.bucket
      .unwrap()
      .describe("the S3 bucket (every master's node config gets it as backup.bucket)"),
    create: z
      .boolean()
      .default(true)
      .describe(
        'true: kboot cluster create makes the bucket (SSE-KMS with the cluster key, versioning, public access blocked, noncurrent snapshots expire after 30 days) and destroy deletes it; false: an existing bucket, checked to exist, never deleted',
      ),
  })
  .describe('etcd snapshots to S3 (docs/backup.md)');

export type BackupSpec = z.output<typeof BackupSpecSchema>;
