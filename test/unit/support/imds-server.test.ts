import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type ImdsServer,
  type ImdsServerOptions,
  startImdsServer,
  TOKEN_HEADER,
  TOKEN_PATH,
  TOKEN_TTL_HEADER,
} from '../../support/imds-server.js';

/** A clock only the test moves. */
function manualClock(startMs = Date.UTC(2026, 0, 1)) {
  let nowMs = startMs;
  return {
    nowMs: () => nowMs,
    advanceMs: (ms: number) => {
      nowMs += ms;
    },
  };
}

interface Reply {
  status: number;
  body: string;
  headers: Headers;
}

async function call(
  server: ImdsServer,
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await fetch(`${server.endpoint}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

async function token(server: ImdsServer, ttlSeconds = 21_600): Promise<string> {
  const reply = await call(server, TOKEN_PATH, {
    method: 'PUT',
    headers: { [TOKEN_TTL_HEADER]: String(ttlSeconds) },
  });
  assert.equal(reply.status, 200);
  return reply.body;
}

async function getWith(server: ImdsServer, path: string, tokenValue?: string): Promise<Reply> {
  return call(server, path, { headers: tokenValue === undefined ? {} : { [TOKEN_HEADER]: tokenValue } });
}

async function withServer(
  options: ImdsServerOptions,
  run: (server: ImdsServer) => Promise<void>,
): Promise<void> {
  const server = await startImdsServer(options);
  try {
    await run(server);
  } finally {
    await server.stop();
  }
}

describe('IMDS server: tokens', () => {
  const clock = manualClock();
  let server: ImdsServer;
  before(async () => {
    server = await startImdsServer({ clock, instanceId: 'i-0123456789abcdef0' });
  });
  after(() => server.stop());

  it('issues a token for a TTL in 1..21600 and echoes the TTL', async () => {
    for (const ttl of ['1', '300', '21600']) {
      const reply = await call(server, TOKEN_PATH, { method: 'PUT', headers: { [TOKEN_TTL_HEADER]: ttl } });
      assert.equal(reply.status, 200, `ttl ${ttl}`);
      assert.ok(reply.body.length >= 40, 'a token of AWS-like length');
      assert.equal(reply.headers.get(TOKEN_TTL_HEADER), ttl);
    }
  });

  const badTtls: { name: string; headers: Record<string, string> }[] = [
    { name: 'missing', headers: {} },
    { name: '0', headers: { [TOKEN_TTL_HEADER]: '0' } },
    { name: '21601', headers: { [TOKEN_TTL_HEADER]: '21601' } },
    { name: 'negative', headers: { [TOKEN_TTL_HEADER]: '-5' } },
    { name: 'fractional', headers: { [TOKEN_TTL_HEADER]: '1.5' } },
    { name: 'not a number', headers: { [TOKEN_TTL_HEADER]: 'abc' } },
  ];
  for (const { name, headers } of badTtls) {
    it(`answers 400 for a ${name} TTL`, async () => {
      const reply = await call(server, TOKEN_PATH, { method: 'PUT', headers });
      assert.equal(reply.status, 400);
      assert.match(reply.body, /400 - Bad Request/);
    });
  }

  it('refuses a token PUT carrying X-Forwarded-For with 403', async () => {
    const reply = await call(server, TOKEN_PATH, {
      method: 'PUT',
      headers: { [TOKEN_TTL_HEADER]: '60', 'X-Forwarded-For': '10.0.0.9' },
    });
    assert.equal(reply.status, 403);
  });

  it('answers 405 to a GET of the token endpoint', async () => {
    assert.equal((await call(server, TOKEN_PATH)).status, 405);
  });

  it('answers 401 without a token, with a made-up token, and with an expired token (no IMDSv1)', async () => {
    const noToken = await getWith(server, '/latest/meta-data/instance-id');
    assert.equal(noToken.status, 401);
    assert.match(noToken.body, /401 - Unauthorized/);
    assert.equal((await getWith(server, '/latest/meta-data/instance-id', 'AQAEAmadeUpToken==')).status, 401);

    const shortLived = await token(server, 10);
    assert.equal(
      (await getWith(server, '/latest/meta-data/instance-id', shortLived)).body,
      'i-0123456789abcdef0',
    );
    clock.advanceMs(9_999);
    assert.equal((await getWith(server, '/latest/meta-data/instance-id', shortLived)).status, 200);
    clock.advanceMs(1);
    assert.equal((await getWith(server, '/latest/meta-data/instance-id', shortLived)).status, 401);
  });

  it('requires a token for every GET, listings and dynamic data included', async () => {
    for (const path of [
      '/',
      '/latest/',
      '/latest/meta-data/',
      '/latest/dynamic/instance-identity/document',
    ]) {
      assert.equal((await getWith(server, path)).status, 401, path);
    }
  });

  it('does not accept a token issued by another instance', async () => {
    await withServer({}, async (other) => {
      const foreign = await token(other);
      assert.equal((await getWith(server, '/latest/meta-data/instance-id', foreign)).status, 401);
    });
  });
});

describe('IMDS server: metadata', () => {
  let server: ImdsServer;
  let tokenValue: string;
  const get = (path: string) => getWith(server, path, tokenValue);
  before(async () => {
    server = await startImdsServer({
      instanceId: 'i-0aaaabbbbccccdddd',
      region: 'eu-west-1',
      az: 'eu-west-1b',
      privateIp: '10.1.2.3',
      mac: '0e:11:22:33:44:55',
      amiId: 'ami-0feedfacecafe0001',
      instanceType: 'm7g.large',
      architecture: 'arm64',
      vpcCidr: '10.1.0.0/16',
      iamRole: { name: 'kboot-node' },
    });
    tokenValue = await token(server);
  });
  after(() => server.stop());

  const values: [path: string, value: string][] = [
    ['/latest/meta-data/instance-id', 'i-0aaaabbbbccccdddd'],
    ['/latest/meta-data/placement/region', 'eu-west-1'],
    ['/latest/meta-data/placement/availability-zone', 'eu-west-1b'],
    ['/latest/meta-data/local-ipv4', '10.1.2.3'],
    ['/latest/meta-data/local-hostname', 'ip-10-1-2-3.eu-west-1.compute.internal'],
    ['/latest/meta-data/hostname', 'ip-10-1-2-3.eu-west-1.compute.internal'],
    ['/latest/meta-data/mac', '0e:11:22:33:44:55'],
    ['/latest/meta-data/ami-id', 'ami-0feedfacecafe0001'],
    ['/latest/meta-data/instance-type', 'm7g.large'],
    ['/latest/meta-data/network/interfaces/macs/0e:11:22:33:44:55/local-ipv4s', '10.1.2.3'],
    ['/latest/meta-data/network/interfaces/macs/0e:11:22:33:44:55/vpc-ipv4-cidr-block', '10.1.0.0/16'],
    ['/latest/meta-data/network/interfaces/macs/', '0e:11:22:33:44:55/'],
    ['/latest/meta-data/iam/security-credentials/', 'kboot-node'],
    ['/latest/meta-data/placement', 'availability-zone\navailability-zone-id\nregion'],
  ];
  for (const [path, value] of values) {
    it(`serves ${path}`, async () => {
      const reply = await get(path);
      assert.equal(reply.status, 200);
      assert.equal(reply.body, value);
      assert.equal(reply.headers.get('content-type'), 'text/plain');
    });
  }

  it('lists /latest/meta-data/ like AWS: sorted, directories with a trailing slash', async () => {
    const entries = (await get('/latest/meta-data/')).body.split('\n');
    assert.deepEqual(entries, [...entries].sort());
    for (const entry of [
      'ami-id',
      'hostname',
      'iam/',
      'instance-id',
      'local-hostname',
      'mac',
      'network/',
      'placement/',
    ]) {
      assert.ok(entries.includes(entry), `listing has ${entry}`);
    }
    for (const absent of ['tags/', 'autoscaling/', 'spot/']) {
      assert.ok(!entries.includes(absent), `listing lacks ${absent} until enabled or set`);
    }
  });

  it('serves the instance identity document with the fields AWS puts in it', async () => {
    const reply = await get('/latest/dynamic/instance-identity/document');
    assert.equal(reply.status, 200);
    const document = JSON.parse(reply.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(document).sort(), [
      'accountId',
      'architecture',
      'availabilityZone',
      'billingProducts',
      'devpayProductCodes',
      'imageId',
      'instanceId',
      'instanceType',
      'kernelId',
      'marketplaceProductCodes',
      'pendingTime',
      'privateIp',
      'ramdiskId',
      'region',
      'version',
    ]);
    assert.equal(document.instanceId, 'i-0aaaabbbbccccdddd');
    assert.equal(document.region, 'eu-west-1');
    assert.equal(document.availabilityZone, 'eu-west-1b');
    assert.equal(document.privateIp, '10.1.2.3');
    assert.equal(document.architecture, 'arm64');
    assert.equal(document.kernelId, null);
  });

  it('serves role credentials in the SDK credential provider shape', async () => {
    const credentials = JSON.parse((await get('/latest/meta-data/iam/security-credentials/kboot-node')).body);
    assert.equal(credentials.Code, 'Success');
    assert.equal(typeof credentials.AccessKeyId, 'string');
    assert.match(credentials.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('answers 404 with AWS error page for unknown paths', async () => {
    const reply = await get('/latest/meta-data/no-such-thing');
    assert.equal(reply.status, 404);
    assert.match(reply.body, /<h1>404 - Not Found<\/h1>/);
    assert.equal(reply.headers.get('content-type'), 'text/html');
  });

  it('serves the lifecycle state only once set', async () => {
    assert.equal((await get('/latest/meta-data/autoscaling/target-lifecycle-state')).status, 404);
    server.setLifecycleState('InService');
    assert.equal((await get('/latest/meta-data/autoscaling/target-lifecycle-state')).body, 'InService');
    server.setLifecycleState('Terminated');
    assert.equal((await get('/latest/meta-data/autoscaling/target-lifecycle-state')).body, 'Terminated');
    assert.ok((await get('/latest/meta-data/')).body.split('\n').includes('autoscaling/'));
    server.setLifecycleState(undefined);
    assert.equal((await get('/latest/meta-data/autoscaling/target-lifecycle-state')).status, 404);
  });

  it('serves a spot interruption notice only once set', async () => {
    assert.equal((await get('/latest/meta-data/spot/instance-action')).status, 404);
    server.setSpotAction({ action: 'terminate', time: '2026-01-01T00:02:00Z' });
    const reply = await get('/latest/meta-data/spot/instance-action');
    assert.equal(reply.body, '{"action": "terminate", "time": "2026-01-01T00:02:00Z"}');
    assert.deepEqual(JSON.parse(reply.body), { action: 'terminate', time: '2026-01-01T00:02:00Z' });
    assert.equal((await get('/latest/meta-data/spot/termination-time')).body, '2026-01-01T00:02:00Z');
    server.setSpotAction(undefined);
    assert.equal((await get('/latest/meta-data/spot/instance-action')).status, 404);
  });
});

describe('IMDS server: instance metadata tags', () => {
  const tags = { Name: 'worker-1', 'kboot.io:role': 'worker', team: 'platform' };

  it('lists the tag keys and serves each value', async () => {
    await withServer({ tags }, async (server) => {
      const tokenValue = await token(server);
      const listing = await getWith(server, '/latest/meta-data/tags/instance', tokenValue);
      assert.equal(listing.body, 'Name\nkboot.io:role\nteam');
      assert.equal(
        (await getWith(server, '/latest/meta-data/tags/instance/', tokenValue)).body,
        listing.body,
      );
      for (const [key, value] of Object.entries(tags)) {
        assert.equal(
          (await getWith(server, `/latest/meta-data/tags/instance/${key}`, tokenValue)).body,
          value,
        );
      }
      assert.equal(
        (await getWith(server, '/latest/meta-data/tags/instance/Missing', tokenValue)).status,
        404,
      );
      assert.ok((await getWith(server, '/latest/meta-data/', tokenValue)).body.split('\n').includes('tags/'));
    });
  });

  it('answers 404 for the listing and the values when metadata tags are disabled', async () => {
    await withServer({ tags, tagsEnabled: false }, async (server) => {
      const tokenValue = await token(server);
      assert.equal((await getWith(server, '/latest/meta-data/tags/instance', tokenValue)).status, 404);
      assert.equal((await getWith(server, '/latest/meta-data/tags/instance/Name', tokenValue)).status, 404);
      server.setTags({ Name: 'renamed' }, true);
      assert.equal(
        (await getWith(server, '/latest/meta-data/tags/instance/Name', tokenValue)).body,
        'renamed',
      );
    });
  });

  it('has no tags directory when no tags are given', async () => {
    await withServer({}, async (server) => {
      assert.equal(
        (await getWith(server, '/latest/meta-data/tags/instance', await token(server))).status,
        404,
      );
    });
  });

  it('refuses, as AWS does, to enable metadata tags with keys holding "/" or spaces', async () => {
    await assert.rejects(
      startImdsServer({ tags: { 'kubernetes.io/cluster/prod': 'owned' } }),
      /AWS refuses to enable instance metadata tags.*"kubernetes\.io\/cluster\/prod"/,
    );
    await withServer({ tags: { 'kboot.io/role': 'worker' }, tagsEnabled: false }, async (server) => {
      assert.throws(() => server.setTags({ 'my tag': 'x' }, true), /AWS refuses/);
    });
  });

  it('serves such keys whole when told to be unfaithful', async () => {
    await withServer(
      { tags: { 'kboot.io/role': 'worker' }, allowTagKeysAwsRefuses: true },
      async (server) => {
        const tokenValue = await token(server);
        assert.equal(
          (await getWith(server, '/latest/meta-data/tags/instance', tokenValue)).body,
          'kboot.io/role',
        );
        assert.equal(
          (await getWith(server, '/latest/meta-data/tags/instance/kboot.io/role', tokenValue)).body,
          'worker',
        );
      },
    );
  });
});

describe('IMDS server: v1-only mode', () => {
  it('has no token endpoint, serves GETs without a token, and counts them', async () => {
    await withServer({ instanceId: 'i-0v1only', version: 'v1-only' }, async (server) => {
      const put = await call(server, TOKEN_PATH, { method: 'PUT', headers: { [TOKEN_TTL_HEADER]: '60' } });
      assert.equal(put.status, 403);
      assert.equal((await call(server, TOKEN_PATH)).status, 405);
      const read = await getWith(server, '/latest/meta-data/instance-id');
      assert.deepEqual([read.status, read.body], [200, 'i-0v1only']);
      assert.equal((await getWith(server, '/latest/meta-data/instance-id', 'made-up')).status, 401);
      assert.equal(server.counts.servedWithoutToken, 1);
      assert.equal(server.counts.tokensIssued, 0);
    });
  });

  it('is off by default: a GET without a token is 401 and never served', async () => {
    await withServer({ instanceId: 'i-0v2' }, async (server) => {
      assert.equal((await getWith(server, '/latest/meta-data/instance-id')).status, 401);
      assert.equal(server.counts.servedWithoutToken, 0);
    });
  });
});

describe('IMDS server: counts and injected failures', () => {
  let server: ImdsServer;
  beforeEach(async () => {
    await server?.stop();
    server = await startImdsServer({ instanceId: 'i-0count' });
  });
  after(() => server.stop());

  it('counts every request per path, tokens issued and 401s, and resets', async () => {
    await getWith(server, '/latest/meta-data/instance-id');
    const tokenValue = await token(server);
    await getWith(server, '/latest/meta-data/instance-id', tokenValue);
    await getWith(server, '/latest/meta-data/instance-id?x=1', tokenValue);
    await call(server, TOKEN_PATH, { method: 'PUT' });
    assert.deepEqual(server.counts, {
      total: 5,
      byPath: { '/latest/meta-data/instance-id': 3, [TOKEN_PATH]: 2 },
      tokenRequests: 2,
      tokensIssued: 1,
      unauthorized: 1,
      servedWithoutToken: 0,
      injectedFailures: 0,
    });
    server.resetCounts();
    assert.equal(server.counts.total, 0);
    assert.deepEqual(server.counts.byPath, {});
  });

  it('answers the next requests with an injected status, then recovers', async () => {
    server.setFailures({ status: 503, count: 2 });
    const put = () => call(server, TOKEN_PATH, { method: 'PUT', headers: { [TOKEN_TTL_HEADER]: '60' } });
    assert.equal((await put()).status, 503);
    assert.equal((await put()).status, 503);
    assert.equal((await put()).status, 200);
    assert.equal(server.counts.injectedFailures, 2);
    assert.equal(server.counts.tokensIssued, 1);
  });

  it('drops connections without an answer', async () => {
    server.setFailures({ dropConnections: 1 });
    await assert.rejects(call(server, TOKEN_PATH, { method: 'PUT', headers: { [TOKEN_TTL_HEADER]: '60' } }));
    assert.equal((await token(server)).length > 0, true);
    assert.equal(server.counts.total, 2);
  });

  it('aims failures at metadata reads only when told', async () => {
    server.setFailures({ status: 500, count: 1, on: 'metadata' });
    const tokenValue = await token(server);
    assert.equal((await getWith(server, '/latest/meta-data/instance-id', tokenValue)).status, 500);
    assert.equal((await getWith(server, '/latest/meta-data/instance-id', tokenValue)).body, 'i-0count');
  });

  it('gives environment for a kboot process', () => {
    assert.deepEqual(server.imdsEnv(), {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
      AWS_EC2_METADATA_DISABLED: 'false',
    });
    assert.match(server.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
