/**
 * IRSA's AWS side: the S3 bucket the first master publishes the OIDC documents to
 * (`irsa-bucket`) and the IAM OIDC provider that makes IAM trust the issuer (`oidc-provider`).
 *
 * The bucket: ACLs disabled (bucket owner enforced, the default of new buckets); public access blocked except for bucket
 * policies, and a policy letting anyone read the two OIDC document keys and nothing else (IAM
 * fetches them anonymously). `complete` puts those two again on a bucket a killed create tagged
 * but did not finish. Destroy deletes the two
 * documents kboot's first master wrote, then the bucket: a bucket holding anything else is
 * reported, not emptied.
 *
 * The provider: issuer URL, client id `sts.amazonaws.com`, no thumbprint (IAM verifies an S3-hosted
 * JWKS endpoint's certificate with its own trusted CAs and ignores thumbprints for it).
 *
 * A bucket or provider that exists without kboot's tags (made by hand, as README "IRSA" once
 * said) is recorded as adopted: used, never changed or deleted.
 */

import {
  CreateOpenIDConnectProviderCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  type IAMClient,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StateConflictError } from '../../../core/errors.js';
import type { IrsaBucketProperties, OidcProviderProperties } from '../../../domain/cluster/compute.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { OIDC_OBJECT_KEYS, STS_AUDIENCE } from '../../../domain/irsa/issuer.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import {
  differs,
  fromAwsTags,
  ownOrAdopted,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  resolveSettings,
  toAwsTags,
} from './provider-kit.js';

/** Public read of the two OIDC documents, nothing else (README "IRSA"). */
function oidcBucketPolicy(bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PublicReadOidcDocuments',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: OIDC_OBJECT_KEYS.map((key) => `arn:aws:s3:::${bucket}/${key}`),
      },
    ],
  });
}

/** ACLs can never make anything public; a bucket policy may (the one above). */
const OIDC_PUBLIC_ACCESS_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: false,
  RestrictPublicBuckets: false,
} as const;

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class IrsaBucketProvider implements ResourceProvider<IrsaBucketProperties> {
  readonly kind = 'irsa-bucket';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #record(desired: DesiredResource<IrsaBucketProperties>): ResourceRecord {
    const { bucket, region } = desired.properties;
    return record(desired, bucket, { bucket, region }, this.#settings.clock, `arn:aws:s3:::${bucket}`);
  }

  /** Whether the bucket exists and is ours: 404 → no; 403 → another account's name. */
  async #exists(s3: S3Client, bucket: string, signal: AbortSignal): Promise<boolean> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || awsErrorName(error) === 'NotFound' || awsErrorName(error) === 'NoSuchBucket')
        return false;
      if (status === 403) {
        throw new StateConflictError(`S3 bucket ${bucket} exists but belongs to another AWS account`, {
          cause: error,
          hint: 'bucket names are global: choose another addons.irsa.bucket in the cluster spec',
        });
      }
      throw error;
    }
  }

  async #tags(s3: S3Client, bucket: string, signal: AbortSignal): Promise<Record<string, string>> {
    try {
      const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }), { abortSignal: signal });
      return fromAwsTags(out.TagSet);
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchTagSet') return {};
      throw error;
    }
  }

  async #policy(s3: S3Client, bucket: string, signal: AbortSignal): Promise<string | undefined> {
    try {
      const out = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }), { abortSignal: signal });
      return out.Policy;
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchBucketPolicy') return undefined;
      throw error;
    }
  }

  async find(desired: DesiredResource<IrsaBucketProperties>, context: ResourceContext) {
    const { bucket } = desired.properties;
    const s3 = await this.#settings.clients.s3In(desired.properties.region);
    try {
      if (!(await this.#exists(s3, bucket, context.signal))) return undefined;
      const tags = await this.#tags(s3, bucket, context.signal);
      return ownOrAdopted(tags, this.#record(desired), desired, context);
    } catch (error) {
      rethrowAws(
        error,
        `looking for S3 bucket ${bucket}`,
        's3:ListBucket (HeadBucket), s3:GetBucketTagging and s3:GetBucketPolicy',
      );
    }
  }

  async create(desired: DesiredResource<IrsaBucketProperties>, context: ResourceContext) {
    const { bucket, region } = desired.properties;
    const s3 = await this.#settings.clients.s3In(desired.properties.region);
    const signal = context.signal;
    let step = 's3:ListBucket (HeadBucket) and s3:CreateBucket';
    try {
      if (!(await this.#exists(s3, bucket, signal))) {
        // New buckets have ACLs disabled (owner enforced) by default: nothing to ask for.
        const input: CreateBucketCommandInput = { Bucket: bucket };
        if (region !== 'us-east-1') input.CreateBucketConfiguration = { LocationConstraint: region as never };
        await s3.send(new CreateBucketCommand(input), { abortSignal: signal });
      }
      step = 's3:PutBucketTagging';
      await s3.send(
        new PutBucketTaggingCommand({
          Bucket: bucket,
          Tagging: { TagSet: toAwsTags(context.tagsFor(desired.key)) },
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (awsErrorName(error) === 'BucketAlreadyExists') {
        throw new StateConflictError(`S3 bucket ${bucket} belongs to another AWS account`, {
          cause: error,
          hint: 'bucket names are global: choose another addons.irsa.bucket in the cluster spec',
        });
      }
      rethrowAws(error, `creating S3 bucket ${bucket} for IRSA`, step);
    }
    await this.#configure(s3, bucket, signal);
    this.#settings.logger.info({ key: desired.key, bucket, region }, `created S3 bucket ${bucket} for IRSA`);
    return this.#record(desired);
  }

  /** Public access through the policy only, and the policy: both idempotent puts. */
  async #configure(s3: S3Client, bucket: string, signal: AbortSignal): Promise<void> {
    let step = 's3:PutBucketPublicAccessBlock';
    try {
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: OIDC_PUBLIC_ACCESS_BLOCK,
        }),
        { abortSignal: signal },
      );
      step = 's3:PutBucketPolicy';
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: oidcBucketPolicy(bucket) }), {
        abortSignal: signal,
      });
    } catch (error) {
      rethrowAws(error, `making the OIDC documents in S3 bucket ${bucket} public`, step);
    }
  }

  /** A bucket a killed create tagged but did not configure gets its access settings (never an adopted one). */
  async complete(
    desired: DesiredResource<IrsaBucketProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    if (found.adopted === true) return found;
    await this.#configure(
      await this.#settings.clients.s3In(desired.properties.region),
      desired.properties.bucket,
      context.signal,
    );
    return found;
  }

  async drift(
    desired: DesiredResource<IrsaBucketProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    const { bucket } = desired.properties;
    const s3 = await this.#settings.clients.s3In(desired.properties.region);
    try {
      if (!(await this.#exists(s3, bucket, context.signal)))
        return [{ field: 'exists', want: 'true', have: 'false' }];
      const drifts: Drift[] = [...differs('bucket', bucket, existing.id)];
      const policy = await this.#policy(s3, bucket, context.signal);
      const policyText = policy === undefined ? '(none)' : JSON.stringify(JSON.parse(policy));
      drifts.push(...differs('policy', oidcBucketPolicy(bucket), policyText));
      let block: Record<string, unknown> = {};
      try {
        const out = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }), {
          abortSignal: context.signal,
        });
        block = { ...out.PublicAccessBlockConfiguration };
      } catch (error) {
        if (awsErrorName(error) !== 'NoSuchPublicAccessBlockConfiguration') throw error;
      }
      for (const [field, want] of Object.entries(OIDC_PUBLIC_ACCESS_BLOCK)) {
        drifts.push(...differs(`publicAccessBlock.${field}`, want, block[field]));
      }
      return drifts;
    } catch (error) {
      rethrowAws(
        error,
        `reading S3 bucket ${bucket}`,
        's3:GetBucketPolicy and s3:GetBucketPublicAccessBlock',
      );
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const bucket = existing.id;
    const s3 = await this.#settings.clients.s3In(existing.outputs.region ?? context.region);
    let step = 's3:ListBucket (HeadBucket)';
    try {
      if (!(await this.#exists(s3, bucket, context.signal))) return 'already-gone';
      step = 's3:DeleteObject';
      for (const key of OIDC_OBJECT_KEYS) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: context.signal });
      }
      step = 's3:DeleteBucket';
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal: context.signal });
      return 'deleted';
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'NoSuchBucket') return 'already-gone';
      if (name === 'BucketNotEmpty') {
        throw new StateConflictError(
          `S3 bucket ${bucket} still holds objects kboot did not put there, so it was not deleted`,
          {
            cause: error,
            hint: `look at them (aws s3 ls --recursive s3://${bucket}), delete them if they can go, then run 'kboot cluster destroy' again`,
          },
        );
      }
      rethrowAws(error, `deleting S3 bucket ${bucket}`, step);
    }
  }
}

/** The issuer's host and path, as IAM names the provider (`…:oidc-provider/<host>`). */
function providerSuffix(issuer: string): string {
  return `:oidc-provider/${issuer.replace(/^https:\/\//, '').replace(/\/$/, '')}`;
}

export class OidcProviderProvider implements ResourceProvider<OidcProviderProperties> {
  readonly kind = 'oidc-provider';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  async #arnFor(iam: IAMClient, issuer: string, signal: AbortSignal): Promise<string | undefined> {
    const out = await iam.send(new ListOpenIDConnectProvidersCommand({}), { abortSignal: signal });
    const suffix = providerSuffix(issuer);
    return out.OpenIDConnectProviderList?.map((entry) => entry.Arn ?? '').find((arn) => arn.endsWith(suffix));
  }

  async #get(iam: IAMClient, arn: string, signal: AbortSignal) {
    try {
      return await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }), {
        abortSignal: signal,
      });
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchEntityException' || awsErrorName(error) === 'NoSuchEntity')
        return undefined;
      throw error;
    }
  }

  #record(desired: DesiredResource<OidcProviderProperties>, arn: string): ResourceRecord {
    return record(desired, arn, { arn, issuer: desired.properties.issuer }, this.#settings.clock, arn);
  }

  async find(desired: DesiredResource<OidcProviderProperties>, context: ResourceContext) {
    const { issuer } = desired.properties;
    const iam = await this.#settings.clients.iam();
    try {
      const arn = await this.#arnFor(iam, issuer, context.signal);
      if (arn === undefined) return undefined;
      const provider = await this.#get(iam, arn, context.signal);
      if (provider === undefined) return undefined;
      const rec = this.#record(desired, arn);
      return ownOrAdopted(fromAwsTags(provider.Tags), rec, desired, context);
    } catch (error) {
      rethrowAws(
        error,
        `looking for the IAM OIDC provider of ${issuer}`,
        'iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider',
      );
    }
  }

  async create(desired: DesiredResource<OidcProviderProperties>, context: ResourceContext) {
    const { issuer } = desired.properties;
    const iam = await this.#settings.clients.iam();
    try {
      const out = await iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: issuer,
          ClientIDList: [STS_AUDIENCE],
          Tags: toAwsTags(context.tagsFor(desired.key)),
        }),
        { abortSignal: context.signal },
      );
      const arn = out.OpenIDConnectProviderArn;
      if (arn === undefined) throw new Error('CreateOpenIDConnectProvider returned no ARN');
      this.#settings.logger.info({ key: desired.key, arn }, `created the IAM OIDC provider of ${issuer}`);
      return this.#record(desired, arn);
    } catch (error) {
      rethrowAws(
        error,
        `creating the IAM OIDC provider of ${issuer}`,
        'iam:CreateOpenIDConnectProvider and iam:TagOpenIDConnectProvider',
      );
    }
  }

  async drift(
    desired: DesiredResource<OidcProviderProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    const iam = await this.#settings.clients.iam();
    try {
      const provider = await this.#get(iam, existing.id, context.signal);
      if (provider === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
      const audience = (provider.ClientIDList ?? []).includes(STS_AUDIENCE) ? STS_AUDIENCE : '(none)';
      return [
        ...differs(
          'issuer',
          desired.properties.issuer.replace(/^https:\/\//, ''),
          (provider.Url ?? '').replace(/^https:\/\//, ''),
        ),
        ...differs('clientId', STS_AUDIENCE, audience),
      ];
    } catch (error) {
      rethrowAws(error, `reading IAM OIDC provider ${existing.id}`, 'iam:GetOpenIDConnectProvider');
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const iam = await this.#settings.clients.iam();
    try {
      if ((await this.#get(iam, existing.id, context.signal)) === undefined) return 'already-gone';
      await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: existing.id }), {
        abortSignal: context.signal,
      });
      return 'deleted';
    } catch (error) {
      if (awsErrorName(error) === 'NoSuchEntityException' || awsErrorName(error) === 'NoSuchEntity') {
        return 'already-gone';
      }
      rethrowAws(
        error,
        `deleting IAM OIDC provider ${existing.id}`,
        'iam:GetOpenIDConnectProvider and iam:DeleteOpenIDConnectProvider',
      );
    }
  }
}
