import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  HttpImds,
  type HttpImdsOptions,
  IMDS_DEFAULTS,
  TOKEN_PATH,
} from '../../../../src/adapters/imds/http-imds.js';
import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ConfigError,
  InternalError,
} from '../../../../src/core/errors.js';
import { createLogger } from '../../../../src/core/logger.js';
import { type ImdsServer, type ImdsServerOptions, startImdsServer } from '../../../support/imds-server.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { type ManualClock, manualClock } from './manual-clock.js';

const DOCUMENT_PATH = '/latest/dynamic/instance-identity/document';

function client(server: ImdsServer, clock: ManualClock, options: Partial<HttpImdsOptions> = {}): HttpImds {
  return new HttpImds({
    endpoint: server.endpoint,
    logger: silentLogger(),
    clock,
    random: () => 0.5,
    requestTimeoutMs: 2000,
    ...options,
  });
}

/** One server and one client sharing a manual clock, fresh for every test. */
function harness(serverOptions: ImdsServerOptions = {}) {
  const state = {} as { server: ImdsServer; clock: ManualClock; imds: HttpImds };
  beforeEach(async () => {
    state.clock = manualClock();
    state.server = await startImdsServer({
      instanceId: 'i-0123456789abcdef0',
      clock: state.clock,
      ...serverOptions,
    });
    state.imds = client(state.server, state.clock);
  });
  afterEach(() => state.server.stop());
  return state;
}

function tokenPuts(server: ImdsServer): number {
  return server.counts.byPath[TOKEN_PATH] ?? 0;
}

describe('HttpImds: tokens', () => {
  const t = harness();

  it('uses one token PUT for many GETs, and never sends a GET without a token', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await t.imds.get('instance-id'), 'i-0123456789abcdef0');
    await t.imds.instanceIdentity();
    assert.equal(t.server.counts.tokensIssued, 1);
    assert.equal(tokenPuts(t.server), 1);
    assert.equal(t.server.counts.unauthorized, 0);
    assert.equal(t.server.counts.total, 1 + 5 + 1);
  });

  it('shares one token PUT between concurrent first calls', async () => {
    const values = await Promise.all(Array.from({ length: 6 }, () => t.imds.get('placement/region')));
    assert.deepEqual(values, Array(6).fill('us-east-1'));
    assert.equal(tokenPuts(t.server), 1);
  });

  it('asks for the longest TTL by default and renews a minute before expiry', async () => {
    await t.imds.get('instance-id');
    t.clock.advanceMs(21_600_000 - 60_001);
    await t.imds.get('instance-id');
    assert.equal(tokenPuts(t.server), 1, 'still more than 60 s left');
    t.clock.advanceMs(2);
    await t.imds.get('instance-id');
    assert.equal(tokenPuts(t.server), 2, 'renewed with under 60 s left');
    assert.equal(t.server.counts.unauthorized, 0, 'renewed before the server would refuse it');
  });

  it('renews after expiry (short TTL: renews at half its life at the latest)', async () => {
    const imds = client(t.server, t.clock, { tokenTtlSeconds: 10 });
    await imds.get('instance-id');
    t.clock.advanceMs(4_000);
    await imds.get('instance-id');
    assert.equal(tokenPuts(t.server), 1);
    t.clock.advanceMs(60_000);
    await imds.get('instance-id');
    assert.equal(tokenPuts(t.server), 2);
    assert.equal(t.server.counts.unauthorized, 0);
  });

  it('renews once when IMDS refuses a token the client thought valid (401), then reads', async () => {
    // Only the server's clock moves: the client still trusts its token.
    const serverClock = manualClock(t.clock.nowMs() + 21_600_000);
    const server = await startImdsServer({ instanceId: 'i-0skewed', clock: serverClock });
    try {
      const imds = client(server, t.clock);
      await imds.get('instance-id');
      serverClock.advanceMs(21_600_000);
      assert.equal(await imds.get('instance-id'), 'i-0skewed');
      assert.equal(server.counts.unauthorized, 1);
      assert.equal(tokenPuts(server), 2);
      assert.equal(server.counts.byPath['/latest/meta-data/instance-id'], 3);
    } finally {
      await server.stop();
    }
  });

  it('gives up with AwsDeniedError when a fresh token is refused too', async () => {
    t.server.setFailures({ status: 401, count: 2, on: 'metadata' });
    await assert.rejects(t.imds.get('instance-id'), (error: unknown) => {
      assert.ok(error instanceof AwsDeniedError);
      assert.match(
        error.message,
        /refused a fresh IMDSv2 token while reading \/latest\/meta-data\/instance-id/,
      );
      return true;
    });
    assert.equal(tokenPuts(t.server), 2);
  });

  it('refuses a token TTL AWS would refuse, before any request', () => {
    for (const tokenTtlSeconds of [0, 21_601, 1.5]) {
      assert.throws(() => client(t.server, t.clock, { tokenTtlSeconds }), ConfigError);
    }
    assert.equal(t.server.counts.total, 0);
  });
});

describe('HttpImds: retries', () => {
  const t = harness();

  it('retries through two 503s with growing, jittered backoff, then succeeds', async () => {
    t.server.setFailures({ status: 503, count: 2 });
    assert.equal(await t.imds.get('instance-id'), 'i-0123456789abcdef0');
    assert.equal(tokenPuts(t.server), 3, 'the token PUT was the one retried');
    assert.equal(t.server.counts.tokensIssued, 1);
    assert.deepEqual(t.clock.sleptMs, [150, 300]);
  });

  it('retries a GET through a 500 and a dropped connection', async () => {
    await t.imds.get('instance-id');
    t.server.setFailures({ status: 500, count: 1, on: 'metadata' });
    assert.equal(await t.imds.get('local-ipv4'), '10.0.1.10');
    t.server.setFailures({ dropConnections: 1 });
    assert.equal(await t.imds.get('local-ipv4'), '10.0.1.10');
    assert.equal(t.server.counts.byPath['/latest/meta-data/local-ipv4'], 4);
  });

  it('retries a request that times out', async () => {
    const imds = client(t.server, t.clock, { requestTimeoutMs: 100 });
    t.server.setFailures({ stallRequests: 1 });
    assert.equal(await imds.get('instance-id'), 'i-0123456789abcdef0');
    assert.equal(t.server.counts.injectedFailures, 1);
    assert.ok(tokenPuts(t.server) >= 2, 'the stalled PUT was tried again');
  });

  it('gives up after the bounded attempts with AwsUnavailableError and a hint', async () => {
    t.server.setFailures({ status: 503, count: 100 });
    await assert.rejects(t.imds.get('instance-id'), (error: unknown) => {
      assert.ok(error instanceof AwsUnavailableError);
      assert.match(
        error.message,
        new RegExp(
          `while requesting an IMDSv2 token after ${IMDS_DEFAULTS.maxAttempts} attempts \\(last: HTTP 503\\)`,
        ),
      );
      assert.match(error.hint ?? '', /EC2 instance.*hop limit.*AWS_EC2_METADATA_SERVICE_ENDPOINT/);
      return true;
    });
    assert.equal(t.server.counts.total, IMDS_DEFAULTS.maxAttempts);
    assert.equal(t.clock.sleptMs.length, IMDS_DEFAULTS.maxAttempts - 1);
  });

  it('honours maxAttempts and the total deadline', async () => {
    t.server.setFailures({ status: 503, count: 100 });
    await assert.rejects(
      client(t.server, t.clock, { maxAttempts: 2 }).get('instance-id'),
      AwsUnavailableError,
    );
    assert.equal(t.server.counts.total, 2);
    t.server.resetCounts();
    // Attempts at 0, 150, 450 and 1050 ms: the next wait (1200 ms) would pass the 2 s deadline.
    const bounded = client(t.server, t.clock, { deadlineMs: 2000, maxAttempts: 10 });
    await assert.rejects(bounded.get('instance-id'), /after 4 attempts/);
    assert.equal(t.server.counts.total, 4);
  });

  it('reports throttling that outlasts the retries as AwsThrottledError', async () => {
    t.server.setFailures({ status: 429, count: 100 });
    await assert.rejects(t.imds.get('instance-id'), AwsThrottledError);
  });

  it('reports an unreachable endpoint as AwsUnavailableError after every attempt', async () => {
    const gone = await startImdsServer();
    await gone.stop();
    const imds = client(gone, t.clock);
    await assert.rejects(imds.get('instance-id'), (error: unknown) => {
      assert.ok(error instanceof AwsUnavailableError);
      assert.match(
        error.message,
        /could not reach the instance metadata service at http:\/\/127\.0\.0\.1:\d+/,
      );
      assert.match(
        error.message,
        new RegExp(
          `after ${IMDS_DEFAULTS.maxAttempts} attempts \\(last: connection failed \\(ECONNREFUSED\\)\\)`,
        ),
      );
      assert.equal(error.details.attempts, IMDS_DEFAULTS.maxAttempts);
      return true;
    });
  });

  it('stops waiting when the caller aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('interrupted');
    const clock = manualClock();
    clock.sleepMs = async () => {
      controller.abort(reason);
      throw reason;
    };
    t.server.setFailures({ status: 503, count: 100 });
    const imds = client(t.server, clock, { signal: controller.signal });
    await assert.rejects(imds.get('instance-id'), (error: unknown) => error === reason);
    assert.equal(t.server.counts.total, 1);
  });
});

describe('HttpImds: answers', () => {
  const t = harness({ tags: { Name: 'worker-1', team: 'platform', 'kboot.io:role': 'worker' } });

  it('returns undefined for a 404 and reads absolute /latest/ paths', async () => {
    assert.equal(await t.imds.get('no-such-path'), undefined);
    assert.equal(t.server.counts.byPath[DOCUMENT_PATH], undefined);
    assert.match((await t.imds.get(DOCUMENT_PATH)) ?? '', /"instanceId" : "i-0123456789abcdef0"/);
  });

  it('refuses paths outside the metadata tree', async () => {
    await assert.rejects(t.imds.get('/etc/passwd'), InternalError);
    await assert.rejects(t.imds.get(TOKEN_PATH), InternalError);
    await assert.rejects(t.imds.get('../../etc/passwd'), InternalError);
    assert.equal(t.server.counts.total, 0);
  });

  it('maps 403 (IMDS turned off on the instance) to AwsDeniedError naming HttpEndpoint', async () => {
    t.server.setFailures({ status: 403, count: 1 });
    await assert.rejects(t.imds.get('instance-id'), (error: unknown) => {
      assert.ok(error instanceof AwsDeniedError);
      assert.match(error.message, /refused requesting an IMDSv2 token \(403 Forbidden\)/);
      assert.match(error.hint ?? '', /disabled.*http-endpoint enabled.*HttpEndpoint/);
      return true;
    });
    t.server.setFailures({ status: 403, count: 1, on: 'metadata' });
    await assert.rejects(t.imds.get('instance-id'), /refused reading \/latest\/meta-data\/instance-id \(403/);
  });

  it('reads the instance identity from the identity document alone', async () => {
    assert.deepEqual(await t.imds.instanceIdentity(), {
      instanceId: 'i-0123456789abcdef0',
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      privateIpv4: '10.0.1.10',
      accountId: '123456789012',
      instanceType: 't3.medium',
      imageId: 'ami-0123456789abcdef0',
      architecture: 'x86_64',
      launchedAtMs: Date.parse('2026-01-01T00:00:00Z'),
    });
  });

  it('reads every tag by default', async () => {
    assert.deepEqual(await t.imds.instanceTags(), {
      Name: 'worker-1',
      team: 'platform',
      'kboot.io:role': 'worker',
    });
  });

  it('reads only the values asked for, listing every key', async () => {
    const tags = await t.imds.instanceTags({
      valuesOf: (keys) => [...keys.filter((key) => key.startsWith('kboot.io')), 'NotListed'],
    });
    assert.deepEqual(tags, { Name: undefined, team: undefined, 'kboot.io:role': 'worker' });
    const valueReads = Object.keys(t.server.counts.byPath).filter((path) =>
      path.startsWith('/latest/meta-data/tags/instance/'),
    );
    assert.deepEqual(valueReads, ['/latest/meta-data/tags/instance/kboot.io:role']);
  });

  it('leaves out a tag deleted between the listing and the read', async () => {
    const tags = await t.imds.instanceTags({
      valuesOf: (keys) => {
        t.server.setTags({ Name: 'worker-1', 'kboot.io:role': 'worker' });
        return keys;
      },
    });
    assert.deepEqual(tags, { Name: 'worker-1', 'kboot.io:role': 'worker' });
  });
});

describe('HttpImds: tags disabled and request budget', () => {
  let clock: ManualClock;
  let disabled: ImdsServer;
  let enabled: ImdsServer;
  before(async () => {
    clock = manualClock();
    disabled = await startImdsServer({
      clock,
      tags: { 'kubernetes.io/cluster/prod': 'owned' },
      tagsEnabled: false,
    });
    enabled = await startImdsServer({
      clock,
      tags: { Name: 'w', KubernetesCluster: 'prod', 'kboot.io:role': 'worker', team: 'platform' },
    });
  });
  after(async () => {
    await disabled.stop();
    await enabled.stop();
  });
  beforeEach(() => {
    disabled.resetCounts();
    enabled.resetCounts();
  });

  it('returns undefined when instance metadata tags are disabled (404)', async () => {
    assert.equal(await client(disabled, clock).instanceTags(), undefined);
  });

  it('resolves a worker identity with its tags in 5 IMDS requests, the token PUT included', async () => {
    const imds = client(enabled, clock);
    const valuesOf = (keys: readonly string[]) =>
      keys.filter((key) => key === 'KubernetesCluster' || key === 'kboot.io:role');
    const [identity, tags] = await Promise.all([imds.instanceIdentity(), imds.instanceTags({ valuesOf })]);
    assert.equal(identity.instanceId, enabled.instanceId);
    assert.deepEqual(tags, {
      Name: undefined,
      KubernetesCluster: 'prod',
      'kboot.io:role': 'worker',
      team: undefined,
    });
    assert.deepEqual(enabled.counts.byPath, {
      [TOKEN_PATH]: 1,
      [DOCUMENT_PATH]: 1,
      '/latest/meta-data/tags/instance': 1,
      '/latest/meta-data/tags/instance/KubernetesCluster': 1,
      '/latest/meta-data/tags/instance/kboot.io:role': 1,
    });
    assert.equal(enabled.counts.total, 5);
  });

  it('costs 3 requests when tags are disabled (the tags then come from ec2:DescribeTags)', async () => {
    const imds = client(disabled, clock);
    await imds.instanceIdentity();
    assert.equal(await imds.instanceTags(), undefined);
    assert.equal(disabled.counts.total, 3);
  });
});

describe('HttpImds: logs', () => {
  const t = harness();

  it('logs each request at debug without the token', async () => {
    const lines: string[] = [];
    const logger = await createLogger({
      level: 'debug',
      format: 'json',
      destination: { write: (line: string) => lines.push(line) },
    });
    const imds = new HttpImds({ endpoint: t.server.endpoint, logger, clock: t.clock });
    await imds.get('instance-id');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const read = entries.find(
      (entry) => entry.msg === 'IMDS request' && entry.path === '/latest/meta-data/instance-id',
    );
    assert.equal(read?.status, 200);
    assert.equal(read?.method, 'GET');
    const all = lines.join('\n');
    // Every token the test server issues starts with AQAEA, like AWS's.
    assert.ok(!/AQAEA/.test(all), 'no token prefix in the logs');
  });
});
