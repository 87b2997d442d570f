/**
 * The AWS client factory every command uses. One place fixes how kboot talks to AWS:
 * - the SDK's own conventions for everything it has one for: default credential chain,
 *   AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, proxies; its IMDS credentials over IMDSv2 only;
 * - the SDK's adaptive retry mode with a bounded attempt count, and socket/request timeouts;
 * - a user agent naming kboot and its version;
 * - clients created lazily (each SDK package is imported only when first used), so a command
 *   that needs one service loads one client;
 * - every call counted, logged at debug, and (when KBOOT_TRACE_AWS_CALLS names a file) appended
 *   there as a JSON line, which is how tests count calls and derive IAM policies.
 */

import { appendFileSync } from 'node:fs';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { buildInfo } from '../../core/build-info.js';
import type { Logger } from '../../core/logger.js';

export interface AwsClientSettings {
  /** Undefined: the SDK resolves it (AWS_REGION, the profile's region). */
  region: string | undefined;
  logger: Logger;
  /** Attempts per call, including the first (default: AWS_MAX_ATTEMPTS, else 5). */
  maxAttempts?: number;
  /** Environment for the SDK conventions kboot reads itself (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE). */
  env?: NodeJS.ProcessEnv;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** File to append one JSON line per AWS call to (KBOOT_TRACE_AWS_CALLS). */
  traceFile?: string;
}

export interface AwsCall {
  service: string;
  operation: string;
}

interface MiddlewareStackLike {
  add(middleware: unknown, options: Record<string, unknown>): void;
}

export class AwsClients {
  readonly #settings: AwsClientSettings;
  readonly #cache = new Map<string, unknown>();
  readonly calls: AwsCall[] = [];

  constructor(settings: AwsClientSettings) {
    this.#settings = settings;
  }

  get region(): string | undefined {
    return this.#settings.region;
  }

  /** Options shared by every client. */
  #config(): Record<string, unknown> {
    const s = this.#settings;
    return {
      ...(s.region === undefined ? {} : { region: s.region }),
      retryMode: s.env?.AWS_RETRY_MODE ?? 'adaptive',
      maxAttempts: s.maxAttempts ?? (Number(s.env?.AWS_MAX_ATTEMPTS) || 5),
      customUserAgent: [['kboot', buildInfo().version]],
      // The default credential chain's instance metadata provider never falls back to IMDSv1
      // (an IMDS without tokens, or a token PUT that fails): instance credentials come over
      // IMDSv2 or not at all, whatever AWS_EC2_METADATA_V1_DISABLED and the profile say.
      ec2MetadataV1Disabled: true,
      requestHandler: {
        connectionTimeout: s.connectionTimeoutMs ?? 3000,
        requestTimeout: s.requestTimeoutMs ?? 15_000,
      },
    };
  }

  #instrument(service: string, client: { middlewareStack: MiddlewareStackLike }): void {
    const { logger, traceFile } = this.#settings;
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
          this.calls.push({ service, operation });
          logger.debug({ service, operation }, 'calling AWS');
          if (traceFile !== undefined) {
            // A DeleteObjects naming versions is authorized as s3:DeleteObjectVersion: say so.
            const objects = (args as { input?: { Delete?: { Objects?: { VersionId?: string }[] } } }).input
              ?.Delete?.Objects;
            const versioned = objects?.some((o) => o.VersionId !== undefined) === true;
            appendFileSync(
              traceFile,
              `${JSON.stringify({ service, operation, pid: process.pid, ...(versioned ? { versioned } : {}) })}\n`,
            );
          }
          return next(args);
        },
      { step: 'initialize', name: 'kbootCallCounter', override: true },
    );
  }

  async #get<T>(
    service: string,
    make: (config: Record<string, unknown>) => Promise<T>,
    cacheKey: string = service,
  ): Promise<T> {
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached as T;
    const client = await make(this.#config());
    this.#instrument(service, client as unknown as { middlewareStack: MiddlewareStackLike });
    this.#cache.set(cacheKey, client);
    return client;
  }

  dynamodb(): Promise<DynamoDBClient> {
    return this.#get(
      'dynamodb',
      async (c) => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(c),
    );
  }

  secretsManager(): Promise<SecretsManagerClient> {
    return this.#get(
      'secretsmanager',
      async (c) => new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(c),
    );
  }

  ec2(): Promise<EC2Client> {
    return this.#get('ec2', async (c) => new (await import('@aws-sdk/client-ec2')).EC2Client(c));
  }

  elbv2(): Promise<ElasticLoadBalancingV2Client> {
    return this.#get(
      'elasticloadbalancing',
      async (c) =>
        new (await import('@aws-sdk/client-elastic-load-balancing-v2')).ElasticLoadBalancingV2Client(c),
    );
  }

  autoScaling(): Promise<AutoScalingClient> {
    return this.#get(
      'autoscaling',
      async (c) => new (await import('@aws-sdk/client-auto-scaling')).AutoScalingClient(c),
    );
  }

  kms(): Promise<KMSClient> {
    return this.#get('kms', async (c) => new (await import('@aws-sdk/client-kms')).KMSClient(c));
  }

  /** IAM is global: the client still takes the region (it picks the partition's endpoint). */
  iam(): Promise<IAMClient> {
    return this.#get('iam', async (c) => new (await import('@aws-sdk/client-iam')).IAMClient(c));
  }

  sts(): Promise<STSClient> {
    return this.#get('sts', async (c) => new (await import('@aws-sdk/client-sts')).STSClient(c));
  }

  /**
   * Every S3 client follows a bucket's region when it is not the client's (a PermanentRedirect
   * answer); `extra` is what one use adds, `cacheKey` keeps each variant's client apart.
   */
  #s3(cacheKey: string, extra: Partial<S3ClientConfig> = {}): Promise<S3Client> {
    return this.#get(
      's3',
      async (c) =>
        new (await import('@aws-sdk/client-s3')).S3Client({ ...c, followRegionRedirects: true, ...extra }),
      cacheKey,
    );
  }

  /** S3 in the client's region. */
  s3(): Promise<S3Client> {
    return this.#s3('s3');
  }

  /**
   * S3 for etcd snapshots: no CRC32 of every part computed in JavaScript (measured: half the
   * upload's time of a 250 MB snapshot); each part is still covered by SigV4's payload hash over
   * TLS, and kboot records the whole object's SHA-256 and checks it before a restore.
   */
  s3ForSnapshots(): Promise<S3Client> {
    return this.#s3('s3-snapshots', { requestChecksumCalculation: 'WHEN_REQUIRED' });
  }

  /**
   * S3 in a given region: CreateBucket with a location constraint must go to that region's
   * endpoint (another region answers IllegalLocationConstraintException, not a redirect).
   */
  s3In(region: string): Promise<S3Client> {
    if (region === this.#settings.region) return this.s3();
    return this.#s3(`s3@${region}`, { region });
  }

  /** Closes sockets so the process can exit promptly. */
  destroy(): void {
    for (const client of this.#cache.values()) (client as { destroy(): void }).destroy();
    this.#cache.clear();
  }
}
