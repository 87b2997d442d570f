/**
 * kboot's IMDSv2 client, over node:http (http-request.ts says why not fetch).
 *
 * Choice: our own client rather than AWS's `@aws-sdk/ec2-metadata-service`. That package's
 * `MetadataService.request()` fetches a new token before every request (its own comment: "making
 * the request call with token will result in an additional request to fetch the token"), so an
 * identity read would cost twice the requests our budget allows; it falls back to IMDSv1 when the
 * token PUT fails unless v1 is disabled in the environment or profile (kboot must never); and it
 * reports a 404 only as an Error whose message carries the status, where kboot needs "absent" as a
 * value (tags disabled, no lifecycle state yet). What we would keep of it is one HTTP call; what we
 * need around it (token cache, deadline, typed errors) is this file, with no new dependency.
 *
 * Behaviour:
 * - token: `PUT /latest/api/token` with a TTL (default 21600 s), shared by every request and by
 *   concurrent callers (one PUT in flight at a time), renewed when under `renewBeforeMs` (60 s) of
 *   life is left, and renewed once when IMDS answers 401. Never a request without a token.
 * - retries: connection errors, per-request timeouts (1 s) and 5xx/429 answers are retried with
 *   exponential backoff and jitter, at most `maxAttempts` (5) tries per HTTP request and within
 *   `deadlineMs` (10 s) per call: IMDS can be briefly unavailable early in boot.
 * - errors: unreachable after retries → AwsUnavailableError (on EC2? hop limit? endpoint?);
 *   403 → AwsDeniedError (IMDS disabled on the instance: HttpEndpoint); 404 → undefined.
 * - budget: `instanceIdentity()` is one GET (the identity document); `instanceTags()` is one GET
 *   for the listing plus one per value asked for. A worker's identity with IMDS tags is thus
 *   5 requests (token, document, listing, cluster and role values), 3 when tags are disabled.
 * - logs: one debug line per HTTP request (method, path, status, attempt, duration); the token
 *   itself never appears in a log line or an error.
 */

import { Agent } from 'node:http';
import { buildInfo } from '../../core/build-info.js';
import { type Clock, systemClock } from '../../core/clock.js';
import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ConfigError,
  InternalError,
  type KbootError,
} from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Imds, InstanceIdentity, InstanceTags, InstanceTagsOptions } from '../../domain/ports/imds.js';
import { type BackoffPolicy, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';
import { httpRequest } from './http-request.js';
import { IDENTITY_DOCUMENT_PATH, parseIdentityDocument } from './identity-document.js';

export const TOKEN_PATH = '/latest/api/token';
export const METADATA_PREFIX = '/latest/meta-data/';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const MAX_TOKEN_TTL_SECONDS = 21_600;

/**
 * A boot must not fail because IMDS answered slowly for a few seconds (early boot, or an
 * instance whose CPUs are saturated by everything else starting): up to 8 tries of 2 s within
 * 30 s per read. The simulated boot of 140 instances on 2 cores failed 13% of its workers with
 * 5 tries of 1 s within 10 s.
 */
export const IMDS_DEFAULTS = {
  tokenTtlSeconds: MAX_TOKEN_TTL_SECONDS,
  renewBeforeMs: 60_000,
  maxAttempts: 8,
  requestTimeoutMs: 2000,
  deadlineMs: 30_000,
} as const;

export interface ImdsTuning {
  /** Token lifetime asked for, 1..21600 s. */
  tokenTtlSeconds?: number;
  /** Renew the token when less than this is left (at most half the TTL). */
  renewBeforeMs?: number;
  /** Tries per HTTP request, the first included. */
  maxAttempts?: number;
  /** Timeout of one HTTP request, answer body included. */
  requestTimeoutMs?: number;
  /** Upper bound for one read (retries and the token PUT included). */
  deadlineMs?: number;
  backoff?: BackoffPolicy;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
}

export interface HttpImdsOptions extends ImdsTuning {
  /** Origin of the metadata service, e.g. http://169.254.169.254. */
  endpoint: string;
  logger: Logger;
  clock?: Clock;
  /** Aborts waits and requests (SIGINT/SIGTERM); the abort reason is thrown as is. */
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  body: string;
}

interface CachedToken {
  value: string;
  expiresAtMs: number;
}

const UNAVAILABLE_HINT =
  'run kboot on an EC2 instance with the metadata service enabled; inside a container, the instance needs ' +
  'a metadata hop limit of 2 or more (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2); ' +
  'elsewhere, set AWS_EC2_METADATA_SERVICE_ENDPOINT to a metadata server';

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`IMDS setting ${name} is ${value}`, {
      hint: `use a whole number from 1 to ${max}`,
    });
  }
  return value;
}

/** Encodes a tag key as one path segment (AWS keys use letters, digits and + - = . , _ : @). */
function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(2B|3D|2C|3A|40)/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** One short phrase for why a request failed, without URLs or headers. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const shape = error as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  if (shape?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = shape?.code ?? shape?.cause?.code;
  if (code !== undefined) return `connection failed (${code})`;
  return shape?.cause?.message ?? shape?.message ?? String(error);
}

export class HttpImds implements Imds {
  readonly endpoint: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly signal: AbortSignal | undefined;
  private readonly tokenTtlSeconds: number;
  private readonly renewBeforeMs: number;
  private readonly maxAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly userAgent = `kboot/${buildInfo().version}`;
  /** Keeps the connection between the few requests of a read (idle sockets are unref'd). */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;

  constructor(options: HttpImdsOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal;
    this.tokenTtlSeconds = positiveInteger(
      options.tokenTtlSeconds ?? IMDS_DEFAULTS.tokenTtlSeconds,
      'tokenTtlSeconds',
      MAX_TOKEN_TTL_SECONDS,
    );
    this.renewBeforeMs = Math.min(
      options.renewBeforeMs ?? IMDS_DEFAULTS.renewBeforeMs,
      (this.tokenTtlSeconds * 1000) / 2,
    );
    this.maxAttempts = positiveInteger(options.maxAttempts ?? IMDS_DEFAULTS.maxAttempts, 'maxAttempts', 20);
    this.requestTimeoutMs = positiveInteger(
      options.requestTimeoutMs ?? IMDS_DEFAULTS.requestTimeoutMs,
      'requestTimeoutMs',
    );
    this.deadlineMs = positiveInteger(options.deadlineMs ?? IMDS_DEFAULTS.deadlineMs, 'deadlineMs');
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  async get(path: string): Promise<string | undefined> {
    const url = this.url(path);
    const doing = `reading ${url.pathname}`;
    const deadlineAtMs = this.clock.nowMs() + this.deadlineMs;
    let token = await this.token(deadlineAtMs);
    let answer = await this.send('GET', url, { [TOKEN_HEADER]: token }, doing, deadlineAtMs);
    if (answer.status === 401) {
      this.logger.debug({ path: url.pathname }, 'IMDS refused the token, renewing it once');
      this.forget(token);
      token = await this.token(deadlineAtMs);
      answer = await this.send('GET', url, { [TOKEN_HEADER]: token }, doing, deadlineAtMs);
    }
    switch (answer.status) {
      case 200:
        return answer.body;
      case 404:
        return undefined;
      case 401:
        throw new AwsDeniedError(
          `the instance metadata service at ${this.endpoint} refused a fresh IMDSv2 token while ${doing} (401)`,
          { hint: 'check that no proxy or firewall rewrites requests to the metadata service' },
        );
      case 403:
        throw this.forbidden(doing);
      default:
        throw this.unexpected(answer.status, doing);
    }
  }

  async instanceIdentity(): Promise<InstanceIdentity> {
    const documentText = await this.get(IDENTITY_DOCUMENT_PATH);
    if (documentText === undefined) throw this.missing(IDENTITY_DOCUMENT_PATH);
    const document = parseIdentityDocument(documentText, this.endpoint);
    return {
      instanceId: document.instanceId,
      region: document.region,
      availabilityZone: document.availabilityZone,
      privateIpv4: document.privateIp,
      accountId: document.accountId,
      instanceType: document.instanceType,
      imageId: document.imageId,
      architecture: document.architecture,
      ...(document.launchedAtMs === undefined ? {} : { launchedAtMs: document.launchedAtMs }),
    };
  }

  async instanceTags(options: InstanceTagsOptions = {}): Promise<InstanceTags | undefined> {
    const listing = await this.get('tags/instance');
    if (listing === undefined) return undefined;
    const keys = [
      ...new Set(
        listing
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== ''),
      ),
    ];
    const listed = new Set(keys);
    const wanted = [...new Set(options.valuesOf === undefined ? keys : options.valuesOf(keys))].filter(
      (key) => listed.has(key),
    );
    const values = new Map(
      await Promise.all(
        wanted.map(async (key) => [key, await this.get(`tags/instance/${encodePathSegment(key)}`)] as const),
      ),
    );
    // A key whose value vanished between the listing and the read (tag deleted) is left out.
    return Object.fromEntries(
      keys
        .filter((key) => !(values.has(key) && values.get(key) === undefined))
        .map((key) => [key, values.get(key)] as const),
    );
  }

  private url(path: string): URL {
    const url = new URL(path.startsWith('/') ? path : `${METADATA_PREFIX}${path}`, this.endpoint);
    if (!url.pathname.startsWith('/latest/') || url.pathname === TOKEN_PATH) {
      throw new InternalError(`not an instance metadata path: ${path}`);
    }
    return url;
  }

  /** The current token, renewing it when it nears expiry; concurrent callers share one PUT. */
  private token(deadlineAtMs: number): Promise<string> {
    const cached = this.cached;
    if (cached !== undefined && cached.expiresAtMs - this.clock.nowMs() > this.renewBeforeMs) {
      return Promise.resolve(cached.value);
    }
    if (this.pending === undefined) {
      this.pending = this.fetchToken(deadlineAtMs).finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  private forget(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async fetchToken(deadlineAtMs: number): Promise<string> {
    const doing = 'requesting an IMDSv2 token';
    const requestedAtMs = this.clock.nowMs();
    const answer = await this.send(
      'PUT',
      new URL(TOKEN_PATH, this.endpoint),
      { [TOKEN_TTL_HEADER]: String(this.tokenTtlSeconds) },
      doing,
      deadlineAtMs,
    );
    const value = answer.body.trim();
    if (answer.status === 200 && value !== '') {
      this.cached = { value, expiresAtMs: requestedAtMs + this.tokenTtlSeconds * 1000 };
      this.logger.debug({ ttlSeconds: this.tokenTtlSeconds }, 'IMDSv2 token issued');
      return value;
    }
    if (answer.status === 403) throw this.forbidden(doing);
    if (answer.status === 404 || answer.status === 405) {
      throw new AwsUnavailableError(
        `${this.endpoint} does not serve IMDSv2 tokens (PUT ${TOKEN_PATH} answered ${answer.status})`,
        {
          hint: 'point AWS_EC2_METADATA_SERVICE_ENDPOINT at an EC2 instance metadata service; kboot never uses IMDSv1',
        },
      );
    }
    if (answer.status === 400) {
      throw new InternalError(
        `the instance metadata service refused a token TTL of ${this.tokenTtlSeconds} s (400)`,
      );
    }
    throw this.unexpected(answer.status, doing);
  }

  /** One HTTP request with bounded retries on connection errors, timeouts, 5xx and 429. */
  private async send(
    method: 'GET' | 'PUT',
    url: URL,
    headers: Record<string, string>,
    doing: string,
    deadlineAtMs: number,
  ): Promise<Answer> {
    let lastFailure = 'the deadline passed before a request could be made';
    let lastStatus: number | undefined;
    let attempts = 0;
    while (attempts < this.maxAttempts) {
      this.signal?.throwIfAborted();
      const remainingMs = deadlineAtMs - this.clock.nowMs();
      if (remainingMs <= 0) break;
      attempts += 1;
      const timeoutMs = Math.min(this.requestTimeoutMs, remainingMs);
      const startedAt = performance.now();
      try {
        const response = await httpRequest(url, {
          method,
          headers: { ...headers, 'user-agent': this.userAgent },
          timeoutMs,
          signal: this.signal,
          agent: this.agent,
        });
        const body = response.body;
        this.logger.debug(
          {
            method,
            path: url.pathname,
            status: response.status,
            attempt: attempts,
            durationMs: Math.round(performance.now() - startedAt),
          },
          'IMDS request',
        );
        if (response.status < 500 && response.status !== 429) return { status: response.status, body };
        lastStatus = response.status;
        lastFailure = `HTTP ${response.status}`;
      } catch (error) {
        if (this.signal?.aborted) throw this.signal.reason;
        lastStatus = undefined;
        lastFailure = describeFailure(error, timeoutMs);
        this.logger.debug(
          { method, path: url.pathname, attempt: attempts, reason: lastFailure },
          'IMDS request failed',
        );
      }
      if (attempts >= this.maxAttempts) break;
      const delayMs = backoffDelayMs(attempts, this.backoff, this.random);
      if (this.clock.nowMs() + delayMs >= deadlineAtMs) break;
      this.logger.debug(
        { path: url.pathname, attempt: attempts, delayMs, reason: lastFailure },
        'IMDS not ready, retrying',
      );
      await this.clock.sleepMs(delayMs, this.signal);
    }
    const summary = `after ${attempts} attempt${attempts === 1 ? '' : 's'} (last: ${lastFailure})`;
    const details = { endpoint: this.endpoint, path: url.pathname, attempts };
    if (lastStatus === 429) {
      throw new AwsThrottledError(`the instance metadata service kept throttling ${doing} ${summary}`, {
        hint: 'read instance metadata less often (IMDS limits requests per instance), then retry',
        details,
      });
    }
    throw new AwsUnavailableError(
      `could not reach the instance metadata service at ${this.endpoint} while ${doing} ${summary}`,
      {
        hint: UNAVAILABLE_HINT,
        details,
      },
    );
  }

  private forbidden(doing: string): KbootError {
    return new AwsDeniedError(
      `the instance metadata service at ${this.endpoint} refused ${doing} (403 Forbidden)`,
      {
        hint:
          'IMDS may be disabled on this instance: enable it (aws ec2 modify-instance-metadata-options ' +
          '--http-endpoint enabled --http-tokens required, or HttpEndpoint=enabled in the launch template), ' +
          'and make sure no proxy adds X-Forwarded-For',
      },
    );
  }

  private unexpected(status: number, doing: string): KbootError {
    return new AwsUnavailableError(
      `the instance metadata service at ${this.endpoint} answered ${status} while ${doing}`,
      {
        hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT (if set) points at an EC2 instance metadata service',
      },
    );
  }

  private missing(path: string): KbootError {
    return new AwsUnavailableError(`the instance metadata service at ${this.endpoint} has no ${path}`, {
      hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT (if set) points at an EC2 instance metadata service',
    });
  }
}
