/**
 * Instance credentials come over IMDSv2 or not at all: the SDK's default credential chain, as
 * kboot configures it, never falls back to IMDSv1, even when the metadata service offers nothing
 * else (an old IMDS, or something on the metadata address that is not IMDS).
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runKboot } from '../support/cli.js';
import { type ImdsServer, startImdsServer } from '../support/imds-server.js';
import { type Moto, startMoto } from '../support/moto.js';
import { tempDir } from '../support/paths.js';

const ROLE = { name: 'kboot-prod-worker', accessKeyId: 'ASIAIMDSEXAMPLE', secretAccessKey: 'imds-secret' };

describe('credentials from the instance metadata service', () => {
  let moto: Moto;
  const servers: ImdsServer[] = [];

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await moto.stop();
  });

  /** kboot ami with no credentials but the instance role's: the chain must reach IMDS. */
  async function amiWith(version: 'v2' | 'v1-only') {
    const imds = await startImdsServer({ iamRole: ROLE, version });
    servers.push(imds);
    const home = tempDir('kboot-imds-creds-');
    const result = await runKboot(['ami', '--region', 'us-east-1', '--tag', 'kboot.io/version=none'], {
      env: {
        ...moto.awsEnv(),
        ...imds.imdsEnv(),
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_EC2_METADATA_V1_DISABLED: undefined,
        AWS_CONFIG_FILE: path.join(home, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
        HOME: home,
        AWS_MAX_ATTEMPTS: '1',
      },
      timeoutMs: 60_000,
    });
    return { result, counts: imds.counts };
  }

  it('uses the instance role over IMDSv2', async () => {
    const { result, counts } = await amiWith('v2');
    // No image matches in an empty moto: exit 2 after a successful, signed DescribeImages call.
    assert.equal(result.exitCode, 2, result.stderr);
    assert.match(result.stderr, /no available AMI matches/);
    assert.ok(counts.tokensIssued >= 1);
    assert.ok((counts.byPath[`/latest/meta-data/iam/security-credentials/${ROLE.name}`] ?? 0) >= 1);
  });

  it('refuses an IMDS that only speaks IMDSv1: no token, no credentials, no AWS call', async () => {
    const { result, counts } = await amiWith('v1-only');
    assert.ok(counts.tokenRequests >= 1, 'the SDK asked for a token');
    assert.equal(counts.servedWithoutToken, 0, 'kboot read instance metadata without a token (IMDSv1)');
    assert.notEqual(result.exitCode, 0);
    assert.doesNotMatch(result.stderr, /no available AMI matches/);
    assert.doesNotMatch(result.stderr, new RegExp(ROLE.secretAccessKey));
  });
});
