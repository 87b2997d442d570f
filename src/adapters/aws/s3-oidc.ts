/**
 * The OIDC documents of IRSA in S3: the OidcPublisher port as one PutObject per document
 * (`application/json`), in the order given. Idempotent: the same bytes put again give the same
 * object. No ACL is sent (buckets made today have ACLs disabled): the bucket's policy makes the two
 * keys readable to IAM (README "IRSA").
 */

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, InternalError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { OidcObject } from '../../domain/irsa/documents.js';
import type { OidcPublisher } from '../../domain/irsa/publisher.js';
import { awsErrorName, classifyAwsError } from './errors.js';

/** What the publisher needs from AwsClients. */
export interface S3Source {
  s3(): Promise<S3Client>;
}

export interface S3OidcPublisherSettings {
  clients: S3Source;
  logger: Logger;
  /** Aborts calls in flight (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The ARN of one object, for IAM hints (the partition of the commercial regions). */
function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

export class S3OidcPublisher implements OidcPublisher {
  readonly #clients: S3Source;
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;

  constructor(settings: S3OidcPublisherSettings) {
    this.#clients = settings.clients;
    this.#logger = settings.logger;
    this.#signal = settings.signal;
  }

  async publish(bucket: string, objects: readonly OidcObject[]): Promise<void> {
    const client = await this.#clients.s3();
    for (const object of objects) {
      try {
        const output = await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: object.key,
            Body: object.body,
            ContentType: 'application/json',
          }),
          { abortSignal: this.#signal },
        );
        this.#logger.debug({ bucket, key: object.key, etag: output.ETag }, 'put OIDC document');
      } catch (error) {
        throw this.#failure(error, bucket, object.key);
      }
    }
  }

  #failure(error: unknown, bucket: string, key: string): Error {
    if (awsErrorName(error) === 'NoSuchBucket') {
      return new ConfigError(
        `S3 bucket ${bucket} does not exist, so the IRSA OIDC documents cannot be published`,
        {
          cause: error,
          hint: `create bucket ${bucket} (see README "IRSA") or correct addons.irsa.bucket in /etc/kboot/config.yaml, then run kboot again`,
          details: { bucket },
        },
      );
    }
    const doing = `writing s3://${bucket}/${key}`;
    return (
      classifyAwsError(error, doing, `s3:PutObject on ${objectArn(bucket, key)}`) ??
      new InternalError(`AWS rejected ${doing}: ${awsErrorName(error) ?? 'error'}: ${errorMessage(error)}`, {
        cause: error,
        hint: 'rerun with --log-level debug and report the output if it persists',
      })
    );
  }
}
