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
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
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
import {
  type BucketUse,
  bucketExists,
  bucketTags,
  createTaggedBucket,
  deleteBucket,
  publicAccessBlockDrift,
} from './s3-bucket.js';

const IRSA_BUCKET: BucketUse = {
  field: 'addons.irsa.bucket',
  purpose: 'for IRSA',
  forbidden: { reason: 'exists but belongs to another AWS account', hintTail: '' },
  notEmpty: 'still holds objects kboot did not put there, so it was not deleted',
};

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
      if (!(await bucketExists(s3, bucket, IRSA_BUCKET, context.signal))) return undefined;
      const tags = await bucketTags(s3, bucket, context.signal);
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
    await createTaggedBucket(s3, { bucket, region, tags: context.tagsFor(desired.key) }, IRSA_BUCKET, signal);
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
      if (!(await bucketExists(s3, bucket, IRSA_BUCKET, context.signal)))
        return [{ field: 'exists', want: 'true', have: 'false' }];
      const drifts: Drift[] = [...differs('bucket', bucket, existing.id)];
      const policy = await this.#policy(s3, bucket, context.signal);
      const policyText = policy === undefined ? '(none)' : JSON.stringify(JSON.parse(policy));
      drifts.push(...differs('policy', oidcBucketPolicy(bucket), policyText));
      drifts.push(
        ...(await publicAccessBlockDrift(s3, bucket, OIDC_PUBLIC_ACCESS_BLOCK, undefined, context.signal)),
      );
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
    const run = async () => {
      for (const key of OIDC_OBJECT_KEYS) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: context.signal });
      }
    };
    return deleteBucket(s3, bucket, IRSA_BUCKET, { step: 's3:DeleteObject', run }, context.signal);
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
