/**
 * kboot's own IMDSv2 server for tests: one per simulated instance, on a free loopback port.
 * Faithful to AWS's instance metadata service with HttpTokens=required (IMDSv2 only):
 * - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (an integer 1..21600,
 *   else 400; missing → 400) returns a token valid for that many seconds (by the injected clock);
 *   a PUT carrying `X-Forwarded-For` is refused with 403, as AWS does to stop proxied token grabs.
 * - every GET without a token, with a token this server never issued, or with an expired one → 401.
 * - metadata as AWS lays it out: instance-id, placement/*, local-ipv4, local-hostname, hostname,
 *   mac, network/interfaces/macs/<mac>/*, ami-id, instance-type, iam/* (with a role),
 *   tags/instance/* (404 when instance metadata tags are disabled),
 *   autoscaling/target-lifecycle-state and spot/instance-action (404 until set),
 *   /latest/dynamic/instance-identity/document, and directory listings (entries one per line,
 *   sub-directories with a trailing "/") at every level, derived from what is served.
 * - errors answer with AWS's small XHTML pages ("404 - Not Found", "401 - Unauthorized").
 *
 * AWS refuses to enable instance metadata tags on an instance whose tag keys contain "/" or a
 * space (they could not be path segments), so `kubernetes.io/cluster/<name>` and `kboot.io/role`
 * can never be read from IMDS. The server refuses that configuration too; tests of kboot's tag
 * fallback (ec2:DescribeTags) tag the instance in moto and leave `tagsEnabled` off.
 *
 * With `version: 'v1-only'` it plays an IMDS that only speaks IMDSv1 (an old or a spoofed one):
 * no token endpoint (`PUT /latest/api/token` → 403, any other method → 405) and every GET served
 * without a token; `counts.servedWithoutToken` says whether a client used it.
 *
 * Not simulated: the hop limit (`HttpPutResponseHopLimit`: loopback has no IP hops),
 * per-instance throttling (use `setFailures`), the signature/pkcs7 documents.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKEN_PATH = '/latest/api/token';
export const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
export const MAX_TOKEN_TTL_SECONDS = 21_600;

/** Values AWS Auto Scaling reports at autoscaling/target-lifecycle-state. */
export type TargetLifecycleState =
  | 'InService'
  | 'Standby'
  | 'Detached'
  | 'Terminated'
  | 'Warmed:Stopped'
  | 'Warmed:Running'
  | 'Warmed:Hibernated'
  | 'Warmed:Terminated';

export interface SpotAction {
  action: 'terminate' | 'stop' | 'hibernate';
  /** ISO-8601 UTC instant, e.g. 2026-01-01T00:02:00Z. */
  time: string;
}

export interface IamRoleOptions {
  name: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export interface ImdsServerOptions {
  instanceId?: string;
  region?: string;
  /** Availability zone; default `${region}a`. */
  az?: string;
  azId?: string;
  privateIp?: string;
  /** Private DNS name (local-hostname, hostname); default AWS's IP-based name for the region. */
  privateDns?: string;
  mac?: string;
  accountId?: string;
  amiId?: string;
  instanceType?: string;
  architecture?: 'x86_64' | 'arm64';
  vpcId?: string;
  subnetId?: string;
  vpcCidr?: string;
  subnetCidr?: string;
  securityGroups?: string[];
  publicIp?: string;
  /** Instance tags (all of them; served only when `tagsEnabled`). */
  tags?: Record<string, string>;
  /** `InstanceMetadataTags=enabled`. Default: true when `tags` is given. */
  tagsEnabled?: boolean;
  /**
   * Serve tag keys AWS would refuse (with "/" or spaces) instead of throwing. Unfaithful: only for
   * tests of code paths that AWS itself can never reach.
   */
  allowTagKeysAwsRefuses?: boolean;
  lifecycleState?: TargetLifecycleState;
  spotAction?: SpotAction;
  /** Instance profile role: serves iam/info and iam/security-credentials/<name>. */
  iamRole?: IamRoleOptions;
  userData?: string;
  /** `v2` (default): IMDSv2 only, as with HttpTokens=required. `v1-only`: no tokens at all. */
  version?: 'v2' | 'v1-only';
  /** Milliseconds since the epoch, for token expiry and timestamps. Default: Date.now. */
  clock?: { nowMs(): number };
  host?: string;
  /** Default 0: a free port. */
  port?: number;
}

export interface ImdsCounts {
  /** Every HTTP request received, including refused and failed ones. */
  total: number;
  /** Requests per URL path (query strings dropped). */
  byPath: Record<string, number>;
  /** Requests to the token endpoint (granted or not). */
  tokenRequests: number;
  tokensIssued: number;
  /** Requests answered 401. */
  unauthorized: number;
  /** GETs answered 200 without a token (only in `v1-only` mode): IMDSv1 reads. */
  servedWithoutToken: number;
  /** Requests answered with an injected failure (status, dropped or stalled). */
  injectedFailures: number;
}

/** Which requests an injected failure applies to. */
export type FailureTarget = 'any' | 'token' | 'metadata';

export type FailureSpec =
  /** The next `count` requests are answered with this status (403: IMDS turned off meanwhile). */
  | { status: 401 | 403 | 429 | 500 | 502 | 503 | 504; count: number; on?: FailureTarget }
  /** The next `n` requests have their connection destroyed without an answer. */
  | { dropConnections: number; on?: FailureTarget }
  /** The next `n` requests are never answered (the client's timeout must fire). */
  | { stallRequests: number; on?: FailureTarget };

export interface ImdsServer {
  /** `http://127.0.0.1:<port>`, for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  endpoint: string;
  port: number;
  instanceId: string;
  /** A snapshot of the request counters. */
  readonly counts: ImdsCounts;
  resetCounts(): void;
  /** Replaces the instance's tags; `enabled` switches instance metadata tags on or off. */
  setTags(tags: Record<string, string>, enabled?: boolean): void;
  setLifecycleState(state: TargetLifecycleState | undefined): void;
  setSpotAction(action: SpotAction | undefined): void;
  setFailures(spec: FailureSpec | undefined): void;
  /** Environment for a kboot process that uses this server as its IMDS. */
  imdsEnv(): Record<string, string>;
  stop(): Promise<void>;
}

/** AWS's rule for tag keys when instance metadata tags are enabled. */
const METADATA_TAG_KEY = /^[a-zA-Z0-9+\-=.,_:@]+$/;

export function tagKeyRefusedByAws(key: string): boolean {
  return !METADATA_TAG_KEY.test(key) || key === '.' || key === '..' || key === '_index';
}

function assertTagKeysAllowed(tags: Record<string, string>, enabled: boolean, allow: boolean): void {
  if (!enabled || allow) return;
  const refused = Object.keys(tags).filter(tagKeyRefusedByAws);
  if (refused.length > 0) {
    throw new Error(
      `AWS refuses to enable instance metadata tags on an instance with tag keys ${refused.map((k) => `"${k}"`).join(', ')}: ` +
        'keys may only use letters, digits and + - = . , _ : @ (no "/" or spaces). ' +
        'Leave tagsEnabled off and tag the instance in moto (ec2:DescribeTags), or pass allowTagKeysAwsRefuses.',
    );
  }
}

function errorPage(status: number, title: string): string {
  return [
    '<?xml version="1.0" encoding="iso-8859-1"?>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
    '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
    ' <head>',
    `  <title>${status} - ${title}</title>`,
    ' </head>',
    ' <body>',
    `  <h1>${status} - ${title}</h1>`,
    ' </body>',
    '</html>',
    '',
  ].join('\n');
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** AWS's JSON style: two-space indent and " : " between key and value. */
function awsJson(value: Record<string, unknown>): string {
  const lines = Object.entries(value).map(
    ([key, item]) => `  ${JSON.stringify(key)} : ${JSON.stringify(item)}`,
  );
  return `{\n${lines.join(',\n')}\n}`;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

function defaultPrivateDns(ip: string, region: string): string {
  const name = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${name}.ec2.internal` : `${name}.${region}.compute.internal`;
}

/** A metadata tree: a leaf is the text served, a directory maps names to children. */
type MetadataNode = string | Map<string, MetadataNode>;

function dir(entries: Record<string, MetadataNode | undefined>): Map<string, MetadataNode> {
  const out = new Map<string, MetadataNode>();
  for (const [name, node] of Object.entries(entries)) if (node !== undefined) out.set(name, node);
  return out;
}

function listing(node: Map<string, MetadataNode>): string {
  return [...node.entries()]
    .map(([name, child]) => (typeof child === 'string' ? name : `${name}/`))
    .sort()
    .join('\n');
}

interface Token {
  expiresAtMs: number;
}

interface PendingFailure {
  spec: FailureSpec;
  remaining: number;
}

function failureCount(spec: FailureSpec): number {
  if ('status' in spec) return spec.count;
  if ('dropConnections' in spec) return spec.dropConnections;
  return spec.stallRequests;
}

export async function startImdsServer(options: ImdsServerOptions = {}): Promise<ImdsServer> {
  const clock = options.clock ?? { nowMs: () => Date.now() };
  const region = options.region ?? 'us-east-1';
  const az = options.az ?? `${region}a`;
  const privateIp = options.privateIp ?? '10.0.1.10';
  const privateDns = options.privateDns ?? defaultPrivateDns(privateIp, region);
  const instanceId = options.instanceId ?? `i-0${randomHex(16)}`;
  const mac = options.mac ?? `0e:${randomHex(10).replace(/(..)(?!$)/g, '$1:')}`;
  const accountId = options.accountId ?? '123456789012';
  const launchedAtMs = clock.nowMs();
  const allowRefusedKeys = options.allowTagKeysAwsRefuses ?? false;

  let tags = { ...(options.tags ?? {}) };
  let tagsEnabled = options.tagsEnabled ?? options.tags !== undefined;
  assertTagKeysAllowed(tags, tagsEnabled, allowRefusedKeys);
  let lifecycleState = options.lifecycleState;
  let spotAction = options.spotAction;
  let failure: PendingFailure | undefined;
  const tokens = new Map<string, Token>();

  const emptyCounts = (): ImdsCounts => ({
    total: 0,
    byPath: {},
    tokenRequests: 0,
    tokensIssued: 0,
    unauthorized: 0,
    servedWithoutToken: 0,
    injectedFailures: 0,
  });
  const v1Only = options.version === 'v1-only';
  let counts = emptyCounts();

  function identityDocument(): string {
    return awsJson({
      accountId,
      architecture: options.architecture ?? 'x86_64',
      availabilityZone: az,
      billingProducts: null,
      devpayProductCodes: null,
      marketplaceProductCodes: null,
      imageId: options.amiId ?? 'ami-0123456789abcdef0',
      instanceId,
      instanceType: options.instanceType ?? 't3.medium',
      kernelId: null,
      pendingTime: isoSeconds(launchedAtMs),
      privateIp,
      ramdiskId: null,
      region,
      version: '2017-09-30',
    });
  }

  function metadataTree(): Map<string, MetadataNode> {
    const securityGroups = options.securityGroups ?? ['default'];
    const role = options.iamRole;
    const nowMs = clock.nowMs();
    const tagDir = new Map<string, MetadataNode>();
    for (const [key, value] of Object.entries(tags)) tagDir.set(key, value);
    const macDir = dir({
      'device-number': '0',
      'interface-id': `eni-0${instanceId.slice(-16)}`,
      'local-hostname': privateDns,
      'local-ipv4s': privateIp,
      mac,
      'owner-id': accountId,
      'public-ipv4s': options.publicIp,
      'security-group-ids': securityGroups.map((_, i) => `sg-0${String(i).padStart(16, '0')}`).join('\n'),
      'security-groups': securityGroups.join('\n'),
      'subnet-id': options.subnetId ?? 'subnet-0123456789abcdef0',
      'subnet-ipv4-cidr-block': options.subnetCidr ?? '10.0.1.0/24',
      'vpc-id': options.vpcId ?? 'vpc-0123456789abcdef0',
      'vpc-ipv4-cidr-block': options.vpcCidr ?? '10.0.0.0/16',
      'vpc-ipv4-cidr-blocks': options.vpcCidr ?? '10.0.0.0/16',
    });
    return dir({
      'ami-id': options.amiId ?? 'ami-0123456789abcdef0',
      'ami-launch-index': '0',
      'ami-manifest-path': '(unknown)',
      autoscaling:
        lifecycleState === undefined ? undefined : dir({ 'target-lifecycle-state': lifecycleState }),
      'block-device-mapping': dir({ ami: '/dev/xvda', root: '/dev/xvda' }),
      hostname: privateDns,
      iam:
        role === undefined
          ? undefined
          : dir({
              info: awsJson({
                Code: 'Success',
                LastUpdated: isoSeconds(launchedAtMs),
                InstanceProfileArn: `arn:aws:iam::${accountId}:instance-profile/${role.name}`,
                InstanceProfileId: 'AIPAEXAMPLEPROFILEID0',
              }),
              'security-credentials': dir({
                [role.name]: awsJson({
                  Code: 'Success',
                  LastUpdated: isoSeconds(launchedAtMs),
                  Type: 'AWS-HMAC',
                  AccessKeyId: role.accessKeyId ?? 'testing',
                  SecretAccessKey: role.secretAccessKey ?? 'testing',
                  Token: role.sessionToken ?? 'testing',
                  Expiration: isoSeconds(nowMs + 6 * 3_600_000),
                }),
              }),
            }),
      'instance-action': 'none',
      'instance-id': instanceId,
      'instance-life-cycle': spotAction === undefined ? 'on-demand' : 'spot',
      'instance-type': options.instanceType ?? 't3.medium',
      'local-hostname': privateDns,
      'local-ipv4': privateIp,
      mac,
      network: dir({ interfaces: dir({ macs: dir({ [mac]: macDir }) }) }),
      placement: dir({
        'availability-zone': az,
        'availability-zone-id': options.azId ?? 'use1-az1',
        region,
      }),
      'public-hostname':
        options.publicIp === undefined
          ? undefined
          : `ec2-${options.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com`,
      'public-ipv4': options.publicIp,
      'reservation-id': `r-0${instanceId.slice(-16)}`,
      'security-groups': securityGroups.join('\n'),
      services: dir({ domain: 'amazonaws.com', partition: 'aws' }),
      spot:
        spotAction === undefined
          ? undefined
          : dir({
              // AWS's spacing: {"action": "terminate", "time": "2017-09-18T08:22:00Z"}
              'instance-action': `{"action": ${JSON.stringify(spotAction.action)}, "time": ${JSON.stringify(spotAction.time)}}`,
              'termination-time': spotAction.action === 'terminate' ? spotAction.time : undefined,
            }),
      tags: tagsEnabled ? dir({ instance: tagDir }) : undefined,
    });
  }

  function rootTree(): Map<string, MetadataNode> {
    return dir({
      latest: dir({
        dynamic: dir({ 'instance-identity': dir({ document: identityDocument() }) }),
        'meta-data': metadataTree(),
        'user-data': options.userData,
      }),
    });
  }

  /** The node at a path, or undefined. Tag keys are matched whole (see allowTagKeysAwsRefuses). */
  function lookup(segments: string[]): MetadataNode | undefined {
    let node: MetadataNode | undefined = rootTree();
    for (let i = 0; i < segments.length; i++) {
      if (typeof node === 'string' || node === undefined) return undefined;
      const isTagKey = i === 4 && segments.slice(0, 4).join('/') === 'latest/meta-data/tags/instance';
      const name = isTagKey ? segments.slice(i).join('/') : (segments[i] as string);
      node = node.get(name);
      if (isTagKey) return node;
    }
    return node;
  }

  /** What to do with a request: answer it, drop its connection, or never answer. */
  type Outcome = { status: number; body?: string; headers?: Record<string, string> } | 'drop' | 'stall';

  function send(
    response: ServerResponse,
    outcome: { status: number; body?: string; headers?: Record<string, string> },
  ) {
    const isError = outcome.status >= 400;
    const text = isError
      ? errorPage(outcome.status, STATUS_TITLES[outcome.status] ?? 'Error')
      : (outcome.body ?? '');
    response.writeHead(outcome.status, {
      'Content-Type': isError ? 'text/html' : 'text/plain',
      'Content-Length': String(Buffer.byteLength(text)),
      Server: 'EC2ws',
      ...outcome.headers,
    });
    response.end(text);
  }

  function takeFailure(isToken: boolean): FailureSpec | undefined {
    if (failure === undefined) return undefined;
    const on = failure.spec.on ?? 'any';
    if (on === 'token' && !isToken) return undefined;
    if (on === 'metadata' && isToken) return undefined;
    const spec = failure.spec;
    failure.remaining -= 1;
    if (failure.remaining <= 0) failure = undefined;
    return spec;
  }

  function tokenOutcome(request: IncomingMessage): Outcome {
    counts.tokenRequests += 1;
    if (request.method !== 'PUT') return { status: 405 };
    if (v1Only) return { status: 403 };
    if (request.headers['x-forwarded-for'] !== undefined) return { status: 403 };
    const ttlText = request.headers[TOKEN_TTL_HEADER];
    const ttlSeconds =
      typeof ttlText === 'string' && /^\d+$/.test(ttlText.trim()) ? Number(ttlText) : Number.NaN;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      return { status: 400 };
    }
    const token = `AQAEA${randomBytes(36).toString('base64')}`;
    tokens.set(token, { expiresAtMs: clock.nowMs() + ttlSeconds * 1000 });
    counts.tokensIssued += 1;
    return { status: 200, body: token, headers: { [TOKEN_TTL_HEADER]: String(ttlSeconds) } };
  }

  function tokenValid(request: IncomingMessage): boolean {
    const value = request.headers[TOKEN_HEADER];
    if (typeof value !== 'string') return false;
    const token = tokens.get(value);
    if (token === undefined) return false;
    if (clock.nowMs() >= token.expiresAtMs) {
      tokens.delete(value);
      return false;
    }
    return true;
  }

  function metadataOutcome(request: IncomingMessage, path: string): Outcome {
    if (request.method !== 'GET' && request.method !== 'HEAD') return { status: 405 };
    const withoutToken = v1Only && request.headers[TOKEN_HEADER] === undefined;
    if (!withoutToken && !tokenValid(request)) {
      counts.unauthorized += 1;
      return { status: 401 };
    }
    let segments: string[];
    try {
      segments = path
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      return { status: 400 };
    }
    const node = lookup(segments);
    if (node === undefined) return { status: 404 };
    if (withoutToken) counts.servedWithoutToken += 1;
    return { status: 200, body: typeof node === 'string' ? node : listing(node) };
  }

  function outcome(request: IncomingMessage): Outcome {
    const path = (request.url ?? '/').split('?')[0] as string;
    counts.total += 1;
    counts.byPath[path] = (counts.byPath[path] ?? 0) + 1;
    const isToken = path === TOKEN_PATH;
    const injected = takeFailure(isToken);
    if (injected !== undefined) {
      counts.injectedFailures += 1;
      if ('status' in injected) return { status: injected.status };
      return 'dropConnections' in injected ? 'drop' : 'stall';
    }
    return isToken ? tokenOutcome(request) : metadataOutcome(request, path);
  }

  function handle(request: IncomingMessage, response: ServerResponse) {
    const result = outcome(request);
    if (result === 'drop') request.socket.destroy();
    // 'stall': never answered; the socket closes with the client or at stop().
    else if (result !== 'stall') send(response, result);
  }

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const endpoint = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  return {
    endpoint,
    port,
    instanceId,
    get counts(): ImdsCounts {
      return { ...counts, byPath: { ...counts.byPath } };
    },
    resetCounts: () => {
      counts = emptyCounts();
    },
    setTags: (next, enabled = tagsEnabled) => {
      assertTagKeysAllowed(next, enabled, allowRefusedKeys);
      tags = { ...next };
      tagsEnabled = enabled;
    },
    setLifecycleState: (state) => {
      lifecycleState = state;
    },
    setSpotAction: (action) => {
      spotAction = action;
    },
    setFailures: (spec) => {
      failure =
        spec === undefined || failureCount(spec) <= 0 ? undefined : { spec, remaining: failureCount(spec) };
    },
    imdsEnv: () => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint, AWS_EC2_METADATA_DISABLED: 'false' }),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
