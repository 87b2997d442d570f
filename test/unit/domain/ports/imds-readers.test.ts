import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeImds, metadataPaths } from '../../../../src/adapters/imds/fake.js';
import { HttpImds } from '../../../../src/adapters/imds/http-imds.js';
import { AwsUnavailableError, InternalError } from '../../../../src/core/errors.js';
import {
  lifecycleState,
  primaryMac,
  privateDnsName,
  spotInstanceAction,
} from '../../../../src/domain/ports/imds-readers.js';
import { type ImdsServer, startImdsServer } from '../../../support/imds-server.js';
import { silentLogger } from '../../../support/silent-logger.js';

describe('readers against the IMDS server', () => {
  let server: ImdsServer;
  let imds: HttpImds;
  before(async () => {
    server = await startImdsServer({ mac: '0e:aa:bb:cc:dd:ee' });
    imds = new HttpImds({ endpoint: server.endpoint, logger: silentLogger() });
  });
  after(() => server.stop());

  it('reads the Auto Scaling target lifecycle state, undefined outside a group', async () => {
    assert.equal(await lifecycleState(imds), undefined);
    for (const state of ['InService', 'Terminated', 'Warmed:Stopped'] as const) {
      server.setLifecycleState(state);
      assert.equal(await lifecycleState(imds), state);
    }
  });

  it('reads a spot interruption notice, undefined when none is scheduled', async () => {
    assert.equal(await spotInstanceAction(imds), undefined);
    server.setSpotAction({ action: 'terminate', time: '2026-01-01T00:02:00Z' });
    assert.deepEqual(await spotInstanceAction(imds), {
      action: 'terminate',
      time: '2026-01-01T00:02:00Z',
      timeMs: Date.UTC(2026, 0, 1, 0, 2),
    });
  });

  it('reads the primary MAC', async () => {
    assert.equal(await primaryMac(imds), '0e:aa:bb:cc:dd:ee');
  });

  it('reads the private DNS name', async () => {
    assert.equal(await privateDnsName(imds), 'ip-10-0-1-10.ec2.internal');
  });

  it('shares one token between readers', () => {
    assert.equal(server.counts.tokensIssued, 1);
  });
});

describe('readers on malformed answers', () => {
  const malformed: [body: string, message: RegExp][] = [
    ['not json', /malformed spot\/instance-action: not JSON/],
    ['{"action":"explode","time":"2026-01-01T00:00:00Z"}', /action explode/],
    ['{"action":"stop","time":"soon"}', /time soon/],
    ['null', /action undefined/],
  ];
  for (const [body, message] of malformed) {
    it(`refuses spot action ${body}`, async () => {
      const imds = fakeImds({ get: metadataPaths({ 'spot/instance-action': body }) });
      await assert.rejects(spotInstanceAction(imds), (error: unknown) => {
        assert.ok(error instanceof AwsUnavailableError);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('takes the first name when local-hostname lists several (several DHCP domain names)', async () => {
    const imds = fakeImds({
      get: metadataPaths({ 'local-hostname': 'ip-10-0-0-5.corp.example ip-10-0-0-5.ec2.internal\n' }),
    });
    assert.equal(await privateDnsName(imds), 'ip-10-0-0-5.corp.example');
  });

  it('refuses a missing local-hostname', async () => {
    await assert.rejects(privateDnsName(fakeImds({ get: metadataPaths({}) })), /no local-hostname/);
  });

  it('refuses an empty MAC', async () => {
    await assert.rejects(primaryMac(fakeImds({ get: metadataPaths({ mac: '' }) })), AwsUnavailableError);
  });
});

describe('fakeImds', () => {
  it('rejects calls to methods the test did not set up, naming them', async () => {
    const imds = fakeImds({ get: metadataPaths({ 'instance-id': 'i-1' }) });
    assert.equal(await imds.get('instance-id'), 'i-1');
    assert.equal(await imds.get('local-ipv4'), undefined);
    await assert.rejects(imds.instanceIdentity(), (error: unknown) => {
      assert.ok(error instanceof InternalError);
      assert.match(error.message, /instanceIdentity\(\) was called but the test did not set it up/);
      return true;
    });
    await assert.rejects(imds.instanceTags(), /instanceTags\(\)/);
    assert.deepEqual(
      imds.calls.map((call) => call.method),
      ['get', 'get', 'instanceIdentity', 'instanceTags'],
    );
  });
});
