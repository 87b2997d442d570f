import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createImds } from '../../../../src/adapters/imds/create.js';
import { ConfigError } from '../../../../src/core/errors.js';
import { type ImdsServer, startImdsServer } from '../../../support/imds-server.js';
import { silentLogger } from '../../../support/silent-logger.js';

describe('createImds', () => {
  let server: ImdsServer;
  before(async () => {
    server = await startImdsServer({ instanceId: 'i-0fromenv', region: 'ap-south-1' });
  });
  after(() => server.stop());

  it('talks to the endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT names', async () => {
    const imds = createImds({ env: server.imdsEnv(), logger: silentLogger() });
    assert.equal(await imds.get('placement/region'), 'ap-south-1');
    assert.equal((await imds.instanceIdentity()).instanceId, 'i-0fromenv');
  });

  it('fails every read with a clear ConfigError when AWS_EC2_METADATA_DISABLED=true, without a request', async () => {
    server.resetCounts();
    const imds = createImds({
      env: { ...server.imdsEnv(), AWS_EC2_METADATA_DISABLED: 'true' },
      logger: silentLogger(),
    });
    const reads: [string, () => Promise<unknown>, RegExp][] = [
      ['get', () => imds.get('instance-id'), /reading instance metadata \(instance-id\)/],
      ['instanceIdentity', () => imds.instanceIdentity(), /reading the instance identity/],
      ['instanceTags', () => imds.instanceTags(), /reading the instance tags/],
    ];
    for (const [name, read, doing] of reads) {
      await assert.rejects(read(), (error: unknown) => {
        assert.ok(error instanceof ConfigError, name);
        assert.match(
          error.message,
          /instance metadata service is disabled \(AWS_EC2_METADATA_DISABLED=true\)/,
        );
        assert.match(error.message, doing);
        assert.match(
          error.hint ?? '',
          /unset AWS_EC2_METADATA_DISABLED.*AWS_EC2_METADATA_SERVICE_ENDPOINT.*--region/,
        );
        return true;
      });
    }
    assert.equal(server.counts.total, 0);
  });

  it('reports a malformed endpoint on first read, not when made', async () => {
    const imds = createImds({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: '::nope' }, logger: silentLogger() });
    await assert.rejects(imds.get('instance-id'), ConfigError);
  });
});
