/**
 * `backup-bucket`: the S3 bucket of the cluster's etcd snapshots (spec `backup`, docs/backup.md).
 *
 * Made by kboot (`backup.create`, the default): default encryption SSE-KMS with the cluster's key
 * and an S3 bucket key, versioning on, every public access blocked, a lifecycle rule expiring
 * noncurrent versions under `<cluster>/etcd/` (and incomplete multipart uploads), tagged like every
 * resource. `complete` puts those settings again on a bucket a killed create made but did not
 * finish, `update` on one whose settings were changed by hand (plan shows them as drift). Destroy deletes every version of every object, then the bucket.
 *
 * Given (`backup.create: false`), or found without kboot's tags for this cluster: checked to exist
 * (a missing given bucket is a ConfigError, exit 2, before anything is made), recorded as adopted,
 * never changed or deleted; destroy deletes only this cluster's snapshots (every version under
 * `<cluster>/etcd/`) through `release`.
 */

import {
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigError, StateConflictError } from '../../../core/errors.js';
import type { BackupBucketProperties } from '../../../domain/cluster/compute.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import {
  dependencyOutput,
  differs,
  ownOrAdopted,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  resolveSettings,
} from './provider-kit.js';
import {
  type BucketUse,
  bucketExists,
  bucketTags,
  createTaggedBucket,
  deleteBucket,
  publicAccessBlockDrift,
} from './s3-bucket.js';

const BACKUP_BUCKET: BucketUse = {
  field: 'backup.bucket',
  purpose: 'for etcd snapshots',
  forbidden: {
    reason: "exists but this identity may not use it (another AWS account's, or denied)",
    hintTail: ', or grant s3:ListBucket on it',
  },
};

export const BACKUP_PUBLIC_ACCESS_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
} as const;

/** Incomplete multipart uploads (a snapshot killed mid-upload) are aborted after this many days. */
const ABORT_MULTIPART_DAYS = 7;

function lifecycleRuleId(prefix: string): string {
  return `kboot-${prefix.replace(/\/etcd\/$/, '')}-etcd-noncurrent`;
}

function missingGiven(bucket: string, region: string): ConfigError {
  return new ConfigError(`backup.bucket ${bucket} does not exist (backup.create is false)`, {
    hint: `create the bucket in ${region}, or set backup.create: true to have kboot cluster create make it`,
  });
}

export class BackupBucketProvider implements ResourceProvider<BackupBucketProperties> {
  readonly kind = 'backup-bucket';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #record(desired: DesiredResource<BackupBucketProperties>): ResourceRecord {
    const { bucket, region, prefix } = desired.properties;
    return record(
      desired,
      bucket,
      { bucket, region, prefix },
      this.#settings.clock,
      `arn:aws:s3:::${bucket}`,
    );
  }

  /** A given bucket (`create: false`) must exist: exit 2 before anything is made. */
  async preflight(desired: DesiredResource<BackupBucketProperties>, context: ResourceContext) {
    const { bucket, region, create } = desired.properties;
    if (create) return;
    let exists: boolean;
    try {
      exists = await bucketExists(
        await this.#settings.clients.s3In(region),
        bucket,
        BACKUP_BUCKET,
        context.signal,
      );
    } catch (error) {
      rethrowAws(error, `looking for S3 bucket ${bucket}`, 's3:ListBucket (HeadBucket)');
    }
    if (!exists) throw missingGiven(bucket, region);
  }

  async find(desired: DesiredResource<BackupBucketProperties>, context: ResourceContext) {
    const { bucket, region, create } = desired.properties;
    const s3 = await this.#settings.clients.s3In(region);
    let exists: boolean;
    try {
      exists = await bucketExists(s3, bucket, BACKUP_BUCKET, context.signal);
      if (exists && create) {
        return ownOrAdopted(
          await bucketTags(s3, bucket, context.signal),
          this.#record(desired),
          desired,
          context,
        );
      }
    } catch (error) {
      rethrowAws(
        error,
        `looking for S3 bucket ${bucket}`,
        's3:ListBucket (HeadBucket) and s3:GetBucketTagging',
      );
    }
    if (create) return undefined;
    if (!exists) throw missingGiven(bucket, region);
    return { ...this.#record(desired), adopted: true };
  }

  async create(desired: DesiredResource<BackupBucketProperties>, context: ResourceContext) {
    const { bucket, region } = desired.properties;
    const s3 = await this.#settings.clients.s3In(region);
    const signal = context.signal;
    await createTaggedBucket(
      s3,
      { bucket, region, tags: context.tagsFor(desired.key) },
      BACKUP_BUCKET,
      signal,
    );
    await this.#configure(s3, desired, context);
    this.#settings.logger.info(
      { key: desired.key, bucket, region },
      `created S3 bucket ${bucket} for etcd snapshots`,
    );
    return this.#record(desired);
  }

  /** Encryption, versioning, public access block, lifecycle: idempotent puts. */
  async #configure(
    s3: S3Client,
    desired: DesiredResource<BackupBucketProperties>,
    context: ResourceContext,
  ): Promise<void> {
    const { bucket, prefix, noncurrentDays, kmsKeyFrom } = desired.properties;
    const keyArn = dependencyOutput(context, kmsKeyFrom, ['arn']);
    const signal = context.signal;
    let step = 's3:PutEncryptionConfiguration';
    try {
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
                BucketKeyEnabled: true,
              },
            ],
          },
        }),
        { abortSignal: signal },
      );
      step = 's3:PutBucketVersioning';
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
        { abortSignal: signal },
      );
      step = 's3:PutBucketPublicAccessBlock';
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: BACKUP_PUBLIC_ACCESS_BLOCK,
        }),
        { abortSignal: signal },
      );
      step = 's3:PutLifecycleConfiguration';
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: {
            Rules: [
              {
                ID: lifecycleRuleId(prefix),
                Status: 'Enabled',
                Filter: { Prefix: prefix },
                NoncurrentVersionExpiration: { NoncurrentDays: noncurrentDays },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_MULTIPART_DAYS },
              },
            ],
          },
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowAws(error, `configuring S3 bucket ${bucket} for etcd snapshots`, step);
    }
  }

  async complete(
    desired: DesiredResource<BackupBucketProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    if (found.adopted === true) return found;
    await this.#configure(await this.#settings.clients.s3In(desired.properties.region), desired, context);
    return found;
  }

  /** Encryption, versioning, public access block or lifecycle changed by hand: put back (never on an adopted bucket). */
  async update(
    desired: DesiredResource<BackupBucketProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    if (existing.adopted === true) return existing;
    await this.#configure(await this.#settings.clients.s3In(desired.properties.region), desired, context);
    return existing;
  }

  async drift(
    desired: DesiredResource<BackupBucketProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const { bucket, region, prefix, noncurrentDays } = desired.properties;
    const s3 = await this.#settings.clients.s3In(region);
    const signal = context.signal;
    try {
      if (!(await bucketExists(s3, bucket, BACKUP_BUCKET, signal)))
        return [{ field: 'exists', want: 'true', have: 'false' }];
      const drifts: Drift[] = [...differs('bucket', bucket, existing.id)];
      const keyArn = dependencyOutput(context, desired.properties.kmsKeyFrom, ['arn']);
      const encryption = await s3
        .send(new GetBucketEncryptionCommand({ Bucket: bucket }), { abortSignal: signal })
        .then((out) => out.ServerSideEncryptionConfiguration?.Rules?.[0])
        .catch((error: unknown) => {
          if (awsErrorName(error) === 'ServerSideEncryptionConfigurationNotFoundError') return undefined;
          throw error;
        });
      const applied = encryption?.ApplyServerSideEncryptionByDefault;
      drifts.push(...differs('encryption.algorithm', 'aws:kms', applied?.SSEAlgorithm ?? '(none)'));
      drifts.push(...differs('encryption.kmsKey', keyArn, applied?.KMSMasterKeyID ?? '(none)'));
      drifts.push(...differs('encryption.bucketKey', true, encryption?.BucketKeyEnabled === true));
      const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }), {
        abortSignal: signal,
      });
      drifts.push(...differs('versioning', 'Enabled', versioning.Status ?? 'off'));
      drifts.push(...(await publicAccessBlockDrift(s3, bucket, BACKUP_PUBLIC_ACCESS_BLOCK, false, signal)));
      const rules = await s3
        .send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }), { abortSignal: signal })
        .then((out) => out.Rules ?? [])
        .catch((error: unknown) => {
          if (awsErrorName(error) === 'NoSuchLifecycleConfiguration') return [];
          throw error;
        });
      const rule = rules.find((r) => r.ID === lifecycleRuleId(prefix));
      drifts.push(
        ...differs(
          'lifecycle.noncurrentDays',
          noncurrentDays,
          rule?.Status === 'Enabled'
            ? (rule.NoncurrentVersionExpiration?.NoncurrentDays ?? '(none)')
            : '(none)',
        ),
      );
      return drifts;
    } catch (error) {
      rethrowAws(
        error,
        `reading S3 bucket ${bucket}`,
        's3:GetEncryptionConfiguration, s3:GetBucketVersioning, s3:GetBucketPublicAccessBlock and s3:GetLifecycleConfiguration',
      );
    }
  }

  /** Deletes every version and delete marker under `prefix` (the whole bucket for ""); returns how many. */
  async #empty(s3: S3Client, bucket: string, prefix: string, signal: AbortSignal): Promise<number> {
    let deleted = 0;
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          ...(prefix === '' ? {} : { Prefix: prefix }),
          ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
          ...(versionMarker === undefined ? {} : { VersionIdMarker: versionMarker }),
        }),
        { abortSignal: signal },
      );
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].flatMap((v) =>
        v.Key === undefined
          ? []
          : [{ Key: v.Key, ...(v.VersionId === undefined ? {} : { VersionId: v.VersionId }) }],
      );
      if (objects.length > 0) {
        const out = await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
          { abortSignal: signal },
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new StateConflictError(
            `${failed.length} object version(s) in S3 bucket ${bucket} could not be deleted (${first?.Key}: ${first?.Code} ${first?.Message ?? ''})`,
            { hint: "check s3:DeleteObjectVersion on the bucket, then run 'kboot cluster destroy' again" },
          );
        }
        deleted += objects.length;
      }
      if (page.IsTruncated !== true) return deleted;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const bucket = existing.id;
    const s3 = await this.#settings.clients.s3In(existing.outputs.region ?? context.region);
    let count = 0;
    const outcome = await deleteBucket(
      s3,
      bucket,
      BACKUP_BUCKET,
      {
        step: 's3:ListBucketVersions and s3:DeleteObjectVersion',
        run: async () => {
          count = await this.#empty(s3, bucket, '', context.signal);
        },
      },
      context.signal,
    );
    if (outcome === 'deleted') {
      this.#settings.logger.info(
        { bucket, versions: count },
        `deleted S3 bucket ${bucket} and its ${count} object version(s)`,
      );
    }
    return outcome;
  }

  /** A bucket kboot did not make: only this cluster's snapshots go (every version under the prefix). */
  async release(existing: ResourceRecord, context: ResourceContext): Promise<string> {
    const bucket = existing.id;
    const prefix = existing.outputs.prefix ?? `${context.cluster}/etcd/`;
    const s3 = await this.#settings.clients.s3In(existing.outputs.region ?? context.region);
    try {
      if (!(await bucketExists(s3, bucket, BACKUP_BUCKET, context.signal))) return 'the bucket is gone';
      const count = await this.#empty(s3, bucket, prefix, context.signal);
      return `${count} object version(s) under ${prefix} deleted`;
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchBucket') return 'the bucket is gone';
      rethrowAws(
        error,
        `deleting the snapshots under s3://${bucket}/${prefix}`,
        's3:ListBucketVersions and s3:DeleteObjectVersion',
      );
    }
  }
}
