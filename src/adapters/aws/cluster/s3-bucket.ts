/**
 * The S3 calls both bucket providers (`irsa-bucket`, `backup-bucket`) make alike: whether the
 * bucket exists and is this account's, its tags, create-if-absent with tags, its public access
 * block's drift, and destroy's delete sequence. Each provider keeps its own settings (policy,
 * encryption, versioning, lifecycle) and what it empties, and passes what differs in messages
 * through a `BucketUse`.
 */

import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteBucketCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StateConflictError } from '../../../core/errors.js';
import type { DeleteOutcome, Drift } from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import { differs, fromAwsTags, toAwsTags } from './provider-kit.js';

/** What a provider's messages say of its bucket. */
export interface BucketUse {
  /** The cluster spec field naming the bucket, in hints: `addons.irsa.bucket`. */
  readonly field: string;
  /** What the bucket is for, in messages: `for IRSA`. */
  readonly purpose: string;
  /** HeadBucket answered 403: the message after `S3 bucket <name> `, and what the hint adds after the field. */
  readonly forbidden: { readonly reason: string; readonly hintTail: string };
  /** DeleteBucket answered BucketNotEmpty: the message after `S3 bucket <name> ` (unset: the AWS error as it is). */
  readonly notEmpty?: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function globalNameHint(use: BucketUse, tail = ''): string {
  return `bucket names are global: choose another ${use.field} in the cluster spec${tail}`;
}

/** Whether the bucket exists and is this account's: 404 → no; 403 → a StateConflictError. */
export async function bucketExists(
  s3: S3Client,
  bucket: string,
  use: BucketUse,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || awsErrorName(error) === 'NotFound' || awsErrorName(error) === 'NoSuchBucket')
      return false;
    if (status === 403) {
      throw new StateConflictError(`S3 bucket ${bucket} ${use.forbidden.reason}`, {
        cause: error,
        hint: globalNameHint(use, use.forbidden.hintTail),
      });
    }
    throw error;
  }
}

/** The bucket's tags; none for a bucket without a tag set. */
export async function bucketTags(
  s3: S3Client,
  bucket: string,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  try {
    const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }), { abortSignal: signal });
    return fromAwsTags(out.TagSet);
  } catch (error) {
    if (awsErrorName(error) === 'NoSuchTagSet') return {};
    throw error;
  }
}

/** Creates the bucket in `region` unless it is there already, then tags it. */
export async function createTaggedBucket(
  s3: S3Client,
  target: { readonly bucket: string; readonly region: string; readonly tags: Record<string, string> },
  use: BucketUse,
  signal: AbortSignal,
): Promise<void> {
  const { bucket, region } = target;
  let step = 's3:ListBucket (HeadBucket) and s3:CreateBucket';
  try {
    if (!(await bucketExists(s3, bucket, use, signal))) {
      // New buckets have ACLs disabled (owner enforced) by default: nothing to ask for.
      const input: CreateBucketCommandInput = { Bucket: bucket };
      if (region !== 'us-east-1') input.CreateBucketConfiguration = { LocationConstraint: region as never };
      await s3.send(new CreateBucketCommand(input), { abortSignal: signal });
    }
    step = 's3:PutBucketTagging';
    await s3.send(
      new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: toAwsTags(target.tags) } }),
      { abortSignal: signal },
    );
  } catch (error) {
    if (awsErrorName(error) === 'BucketAlreadyExists') {
      throw new StateConflictError(`S3 bucket ${bucket} belongs to another AWS account`, {
        cause: error,
        hint: globalNameHint(use),
      });
    }
    rethrowAws(error, `creating S3 bucket ${bucket} ${use.purpose}`, step);
  }
}

/**
 * Each field of the bucket's public access block that differs from `want`; a field the bucket does
 * not set (or a bucket without a block) counts as `unset`.
 */
export async function publicAccessBlockDrift(
  s3: S3Client,
  bucket: string,
  want: Readonly<Record<string, boolean>>,
  unset: boolean | undefined,
  signal: AbortSignal,
): Promise<Drift[]> {
  let block: Record<string, unknown> = {};
  try {
    const out = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }), { abortSignal: signal });
    block = { ...out.PublicAccessBlockConfiguration };
  } catch (error) {
    if (awsErrorName(error) !== 'NoSuchPublicAccessBlockConfiguration') throw error;
  }
  return Object.entries(want).flatMap(([field, value]) =>
    differs(`publicAccessBlock.${field}`, value, block[field] ?? unset),
  );
}

/**
 * Destroy's sequence: a bucket already gone is `already-gone`; else `empty.run` takes out what
 * kboot put there (`empty.step` names its IAM actions), then DeleteBucket.
 */
export async function deleteBucket(
  s3: S3Client,
  bucket: string,
  use: BucketUse,
  empty: { readonly step: string; readonly run: () => Promise<void> },
  signal: AbortSignal,
): Promise<DeleteOutcome> {
  let step = 's3:ListBucket (HeadBucket)';
  try {
    if (!(await bucketExists(s3, bucket, use, signal))) return 'already-gone';
    step = empty.step;
    await empty.run();
    step = 's3:DeleteBucket';
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return 'deleted';
  } catch (error) {
    const name = awsErrorName(error);
    if (name === 'NoSuchBucket') return 'already-gone';
    if (name === 'BucketNotEmpty' && use.notEmpty !== undefined) {
      throw new StateConflictError(`S3 bucket ${bucket} ${use.notEmpty}`, {
        cause: error,
        hint: `look at them (aws s3 ls --recursive s3://${bucket}), delete them if they can go, then run 'kboot cluster destroy' again`,
      });
    }
    rethrowAws(error, `deleting S3 bucket ${bucket}`, step);
  }
}
