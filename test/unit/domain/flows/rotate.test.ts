/**
 * `kboot rotate` as a flow over fake ports: a manual clock, in-memory secrets, leases, cluster
 * record and filesystem, and a fake kubeadm that records what it was given (the config file as
 * it read it, and the mode it was written with). Everything answers at once, so time moves only
 * when the flow waits on the clock.
 */

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  AwsUnavailableError,
  ClusterTimeoutError,
  IncompatibleError,
  KubeadmError,
  StateConflictError,
  UsageError,
} from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { CA_CERT_PATH } from '../../../../src/domain/flows/paths.js';
import { TOKEN_CONFIG_PATH, UPLOAD_CERTS_CONFIG_PATH } from '../../../../src/domain/flows/rotate/rotation.js';
import type { ControlPlaneSecret, JoinSecret } from '../../../../src/domain/join/material.js';
import { caCertHash } from '../../../../src/domain/kubeadm/ca-hash.js';
import { ENCRYPTION_CONFIG_PATH, renderEncryptionConfig } from '../../../../src/domain/kubeadm/hardening.js';
import type { ClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import { captureLogger } from '../state/capture-logger.js';
import { sampleRecord } from '../state/records.js';
import { type KubeadmCall, testCaPem } from './fake-deps.js';
import {
  CA_HASH,
  CURRENT_KEY,
  CURRENT_TOKEN,
  controlPlaneSecret,
  DAY,
  HOUR,
  iso,
  joinSecret,
  MINUTE,
  START_MS,
  World,
  world,
} from './rotate-world.js';

let caPem = '';

before(() => {
  caPem = testCaPem();
});

describe('kboot rotate: who may rotate', () => {
  it('refuses a worker before touching anything (exit 9)', async () => {
    const w = await world();
    w.role = 'worker';
    await assert.rejects(w.run(), (error: unknown) => {
      assert.ok(error instanceof IncompatibleError);
      assert.match(error.message, /tagged worker, so it cannot run 'kboot rotate'/);
      assert.match(error.hint ?? '', /control-plane instances only/);
      return true;
    });
    assert.equal(w.stateCalls, 0);
  });

  it('does nothing on a master that has not joined yet (a timer that fires early exits 0)', async () => {
    const w = new World();
    const result = await w.run();
    assert.equal(result.outcome, 'not-member');
    assert.equal(result.summary, 'nothing to rotate: this instance has not joined cluster prod');
    assert.equal(w.stateCalls, 0);
    assert.deepEqual(w.events, []);
  });

  for (const [name, record, message] of [
    ['no record', undefined, /table kboot has no record of it/],
    ['an uninitialized record', sampleRecord(), /is not marked initialized/],
  ] as const) {
    it(`refuses a member whose cluster has ${name} (exit 8)`, async () => {
      const w = await world();
      w.record = record;
      await assert.rejects(
        w.run(),
        (error: unknown) => error instanceof StateConflictError && message.test(error.message),
      );
      assert.deepEqual(w.events, []);
    });
  }

  it('refuses a policy that cannot work before reading anything (exit 2)', async () => {
    const w = await world();
    await assert.rejects(w.run({ tokenRenewBeforeMs: 30 * HOUR }), UsageError);
    assert.equal(w.stateCalls, 0);
  });

  it('exits 0 without touching anything when another master holds the rotate lease', async () => {
    const w = await world();
    w.lock('rotate').record = { owner: 'i-other', expiresAtMs: START_MS + MINUTE, fence: 4 };
    w.lock('rotate').holderRenews = true;
    w.join = joinSecret(START_MS - HOUR); // stale: the other master is about to renew it
    const result = await w.run();
    assert.equal(result.outcome, 'busy');
    assert.equal(result.heldBy, 'i-other');
    assert.match(result.summary, /i-other holds the rotate lease of cluster "prod"/);
    assert.deepEqual(w.events, []);
    assert.equal(w.lock('rotate').record?.owner, 'i-other');
  });
});

describe('kboot rotate: fresh material', () => {
  it('renews nothing, runs no kubeadm, and releases the rotate lease', async () => {
    const w = await world();
    const result = await w.run();
    assert.equal(result.outcome, 'fresh');
    assert.equal(result.token?.action, 'kept');
    assert.equal(result.token?.tokenId, 'abcdef');
    assert.equal(result.token?.expiresAt, iso(START_MS + 20 * HOUR));
    assert.equal(result.certificateKey?.action, 'kept');
    assert.deepEqual(w.events, []);
    assert.deepEqual(w.lock('rotate').calls, ['tryAcquire', 'release']);
    assert.equal(w.lock('rotate').record?.owner, undefined);
    assert.equal(w.locks.has('control-plane-join'), false);
  });
});

describe('kboot rotate: the bootstrap token', () => {
  it('creates a token through a 0600 config file, publishes it, stamps the record, then deletes expired kboot tokens', async () => {
    const w = await world();
    w.join = joinSecret(START_MS + 5 * HOUR);
    w.listedTokens = [
      {
        token: CURRENT_TOKEN,
        description: 'kboot: created by i-first at cluster init',
        expires: iso(START_MS + 5 * HOUR),
      },
      {
        token: 'old001.0123456789abcdef',
        description: 'kboot: created by i-x (kboot rotate)',
        expires: iso(START_MS - HOUR),
      },
      {
        token: 'old002.0123456789abcdef',
        description: 'Proxy for managing TTL for the kubeadm-certs secret',
        expires: iso(START_MS - HOUR),
      },
      { token: 'old003.0123456789abcdef', description: 'an operator token', expires: iso(START_MS - HOUR) },
    ];
    const result = await w.run();

    assert.equal(result.outcome, 'rotated');
    assert.deepEqual(w.events, [
      'kubeadm:version',
      'kubeadm:token create',
      'publish:join',
      'stamp',
      'kubeadm:token list',
      'kubeadm:token delete',
    ]);
    const create = w.kubeadmCalls.find((call) => call.args[0] === 'token' && call.args[1] === 'create');
    assert.deepEqual(create?.args, ['token', 'create', '--config', w.fs.resolve(TOKEN_CONFIG_PATH)]);
    assert.equal(create?.config?.mode, 0o600);
    const newToken = w.published[0]?.join?.token.reveal() as string;
    assert.match(newToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.notEqual(newToken, CURRENT_TOKEN);
    assert.match(create?.config?.text ?? '', new RegExp(`token: ${newToken.replace('.', '\\.')}`));
    assert.match(create?.config?.text ?? '', /ttl: 24h0m0s/);
    assert.match(create?.config?.text ?? '', /description: "kboot: created by i-self \(kboot rotate\)"/);
    assert.equal(await w.fs.exists(TOKEN_CONFIG_PATH), false, 'the config file with the token was removed');

    // The join secret keeps everything but the token, its expiry and the update time.
    const published = w.published[0]?.join as JoinSecret;
    assert.equal(published.tokenExpiresAt, iso(START_MS + 24 * HOUR));
    assert.equal(published.apiEndpoint, 'api.prod.example.com:6443');
    assert.deepEqual(published.caCertHashes, [CA_HASH]);
    assert.equal(published.updatedAt, iso(START_MS));
    assert.deepEqual(w.stamps, [
      {
        updatedAt: iso(START_MS),
        tokenExpiresAt: iso(START_MS + 24 * HOUR),
        certificateKeyExpiresAt: iso(START_MS + 90 * MINUTE),
        versions: { join: 'join-v1' },
        // The published admin.conf's expiry, read from the secret (the record had none): stamped now.
        adminConfExpiresAt: iso(START_MS + 300 * DAY),
      },
    ]);
    // Written under the rotate lease's fence, so a rotation that lost it records nothing.
    assert.deepEqual(
      w.stampLeases.map((lease) => [lease?.lock, lease?.owner, lease?.fence]),
      [['rotate', 'i-self', 1]],
    );

    // Only the expired kboot token goes; the token just replaced stays valid until it expires.
    assert.deepEqual(result.deletedTokenIds, ['old001']);
    assert.deepEqual(w.kubeadmCalls.at(-1)?.args, ['token', 'delete', 'old001']);
    assert.deepEqual(result.token, {
      action: 'renewed',
      reason: 'expiring',
      expiresAt: iso(START_MS + 24 * HOUR),
      previousExpiresAt: iso(START_MS + 5 * HOUR),
      tokenId: newToken.slice(0, 6),
    });
    assert.equal(result.certificateKey?.action, 'kept');
    assert.ok(!w.argv().includes(newToken) && !w.argv().includes(CURRENT_TOKEN), 'a token reached argv');
    assert.ok(!JSON.stringify(result).includes(newToken), 'the result holds the token');
  });

  it('rebuilds a missing join secret from the record and the CA on this master', async () => {
    const w = await world();
    w.join = undefined;
    await w.fs.writePrivateFile(CA_CERT_PATH, caPem);
    const result = await w.run();
    assert.equal(result.token?.reason, 'missing');
    const published = w.published[0]?.join as JoinSecret;
    assert.deepEqual(published.caCertHashes, [caCertHash(caPem, 'ca.crt')]);
    assert.equal(published.apiEndpoint, 'api.prod.example.com:6443');
    assert.equal(published.kubernetesVersion, '1.31.2');
  });

  it('reads the secret versions the record names, keeping the ones it did not renew in the stamp', async () => {
    const w = await world();
    w.record = {
      ...(w.record as ClusterRecord),
      joinMaterial: {
        updatedAt: iso(START_MS - HOUR),
        tokenExpiresAt: iso(START_MS + 5 * HOUR),
        versions: { join: 'join-pinned', controlPlane: 'cp-pinned', adminConf: 'admin-pinned' },
      },
    };
    w.join = joinSecret(START_MS + 5 * HOUR);
    await w.run();
    assert.deepEqual([...w.versionsRead].sort(), [
      'admin.conf:admin-pinned',
      'control-plane:cp-pinned',
      'join:join-pinned',
    ]);
    assert.deepEqual(w.stamps.at(-1)?.versions, {
      join: 'join-v1',
      controlPlane: 'cp-pinned',
      adminConf: 'admin-pinned',
    });
  });

  it('judges the material by the record re-read under the lease (another rotation finished meanwhile)', async () => {
    const w = await world();
    const stamped = (versions: { join: string; controlPlane: string }): ClusterRecord => ({
      ...(w.record as ClusterRecord),
      joinMaterial: { updatedAt: iso(START_MS - HOUR), tokenExpiresAt: iso(START_MS + 20 * HOUR), versions },
    });
    w.record = stamped({ join: 'join-old', controlPlane: 'cp-old' });
    const lock = w.lock('rotate');
    const tryAcquire = lock.tryAcquire.bind(lock);
    lock.tryAcquire = async (request) => {
      w.record = stamped({ join: 'join-new', controlPlane: 'cp-new' });
      return tryAcquire(request);
    };
    await w.run();
    assert.deepEqual([...w.versionsRead].sort(), [
      'admin.conf:AWSCURRENT',
      'control-plane:cp-new',
      'join:join-new',
    ]);
  });

  it("repairs a fresh join secret whose CA hash does not match this master's ca.crt", async () => {
    const w = await world();
    await w.fs.writePrivateFile(CA_CERT_PATH, caPem);
    // w.join is fresh (20 h left) but carries another CA's hash (CA_HASH).
    const result = await w.run();
    assert.equal(result.token?.action, 'renewed');
    assert.equal(result.token?.reason, 'ca-mismatch');
    const published = w.published[0]?.join as JoinSecret;
    assert.deepEqual(published.caCertHashes, [caCertHash(caPem, 'ca.crt')]);
    assert.equal(published.apiEndpoint, 'api.prod.example.com:6443');

    const matching = await world();
    await matching.fs.writePrivateFile(CA_CERT_PATH, caPem);
    matching.join = { ...joinSecret(START_MS + 20 * HOUR), caCertHashes: [caCertHash(caPem, 'ca.crt')] };
    assert.equal((await matching.run()).token?.action, 'kept');
    assert.deepEqual(matching.published, []);
  });

  it('replaces an unreadable join secret, but never one written by a newer kboot', async () => {
    const w = await world();
    w.join = new StateConflictError(
      'secret kboot/prod/join is malformed: token must be a kubeadm bootstrap token',
    );
    await w.fs.writePrivateFile(CA_CERT_PATH, caPem);
    const result = await w.run();
    assert.equal(result.token?.reason, 'unreadable');
    assert.equal(w.published.length, 1);

    const newer = await world();
    newer.join = new StateConflictError(
      'secret kboot/prod/join has schemaVersion 2, newer than this kboot understands (1)',
    );
    await assert.rejects(newer.run(), /newer than this kboot/);
    assert.deepEqual(newer.published, []);
  });

  it('keeps going when the record already has a newer stamp, and warns', async () => {
    const w = await world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    w.join = joinSecret(START_MS - HOUR);
    w.failStamp = new StateConflictError('the record already has newer join material');
    const result = await w.run();
    assert.equal(result.outcome, 'rotated');
    assert.ok(lines.some((line) => /did not record the join material stamp/.test(line.msg)));
  });

  it('fails with kubeadm’s error and publishes nothing when kubeadm token create fails', async () => {
    const w = await world();
    w.join = joinSecret(START_MS - HOUR);
    w.failKubeadm.add('token create');
    await assert.rejects(w.run(), KubeadmError);
    assert.deepEqual(w.published, []);
    assert.equal(await w.fs.exists(TOKEN_CONFIG_PATH), false);
    assert.equal(w.lock('rotate').record?.owner, undefined, 'the rotate lease was released');
  });

  it('only warns when listing or deleting old tokens fails', async () => {
    const w = await world();
    w.join = joinSecret(START_MS - HOUR);
    w.failKubeadm.add('token list');
    const result = await w.run();
    assert.equal(result.outcome, 'rotated');
    assert.deepEqual(result.deletedTokenIds, []);
  });
});

describe('kboot rotate: the certificate key', () => {
  function uploads(w: World): KubeadmCall[] {
    return w.kubeadmCalls.filter((call) => call.args.slice(0, 3).join(' ') === 'init phase upload-certs');
  }

  it('re-uploads under a new key before publishing it, holding the control-plane-join lease while the old key is live', async () => {
    const w = await world();
    w.controlPlane = controlPlaneSecret(START_MS + 20 * MINUTE);
    const result = await w.run();
    assert.equal(result.outcome, 'rotated');
    assert.deepEqual(w.events, ['kubeadm:version', 'kubeadm:upload-certs', 'publish:controlPlane', 'stamp']);
    const [upload] = uploads(w);
    assert.deepEqual(upload?.args, [
      'init',
      'phase',
      'upload-certs',
      '--upload-certs',
      '--config',
      w.fs.resolve(UPLOAD_CERTS_CONFIG_PATH),
      '--skip-certificate-key-print',
    ]);
    assert.equal(upload?.config?.mode, 0o600);
    const newKey = w.published[0]?.controlPlane?.certificateKey.reveal() as string;
    assert.match(newKey, /^[a-f0-9]{64}$/);
    assert.notEqual(newKey, CURRENT_KEY);
    assert.match(upload?.config?.text ?? '', new RegExp(`certificateKey: ${newKey}`));
    assert.match(upload?.config?.text ?? '', /controlPlaneEndpoint: api\.prod\.example\.com:6443/);
    assert.equal(await w.fs.exists(UPLOAD_CERTS_CONFIG_PATH), false);
    assert.equal(w.published[0]?.controlPlane?.certificateKeyExpiresAt, iso(START_MS + 2 * HOUR));
    assert.deepEqual(w.lock('control-plane-join').calls, ['tryAcquire', 'release']);
    assert.deepEqual(result.certificateKey, {
      action: 'renewed',
      reason: 'expiring',
      expiresAt: iso(START_MS + 2 * HOUR),
      previousExpiresAt: iso(START_MS + 20 * MINUTE),
    });
    assert.equal(result.token?.action, 'kept');
    assert.ok(!w.argv().includes(newKey), 'the key reached argv');
  });

  it('keeps the encryption at rest key across a rotation: from the secret, or from this master', async () => {
    const key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
    const w = await world();
    w.controlPlane = { ...controlPlaneSecret(START_MS + 20 * MINUTE), encryptionKey: new Secret(key) };
    await w.run();
    assert.equal(w.published[0]?.controlPlane?.encryptionKey?.reveal(), key);

    // The secret could not be read: the key comes from this master's EncryptionConfiguration.
    const local = await world();
    local.controlPlane = undefined;
    await local.fs.writePrivateFile(
      ENCRYPTION_CONFIG_PATH,
      renderEncryptionConfig({ provider: 'secretbox' }, new Secret(key)),
    );
    await local.run();
    assert.equal(local.published[0]?.controlPlane?.encryptionKey?.reveal(), key);
    assert.ok(!local.argv().includes(key), 'the key reached argv');
  });

  it('takes no control-plane-join lease when the old key has expired (no join can be using it)', async () => {
    const w = await world();
    w.controlPlane = controlPlaneSecret(START_MS - 5 * HOUR);
    const result = await w.run();
    assert.equal(result.certificateKey?.reason, 'expired');
    assert.equal(uploads(w).length, 1);
    assert.equal(w.locks.has('control-plane-join'), false);
  });

  it('waits for a joining master to release the control-plane-join lease, then re-uploads', async () => {
    const w = await world();
    w.controlPlane = controlPlaneSecret(START_MS + 25 * MINUTE);
    const joinLock = w.lock('control-plane-join');
    joinLock.record = { owner: 'i-joiner', expiresAtMs: START_MS + 10 * MINUTE, fence: 3 };
    joinLock.holderRenews = true;
    const running = w.start().then((run) => run.result);
    running.catch(() => undefined);
    await w.clock.advanceMs(4 * MINUTE);
    assert.deepEqual(uploads(w), [], 'uploaded while a master was joining');
    assert.ok(joinLock.calls.filter((call) => call === 'tryAcquire').length > 1, 'it kept trying');
    joinLock.record = { fence: 3, releasedAtMs: w.clock.nowMs() };
    const result = await w.clock.run(running);
    assert.equal(result.certificateKey?.action, 'renewed');
    assert.equal(uploads(w).length, 1);
    assert.ok(w.clock.nowMs() >= START_MS + 4 * MINUTE);
    assert.equal(joinLock.record?.fence, 4, 'rotate took the lease with the next fence');
    assert.equal(joinLock.record?.owner, undefined, 'and released it');
  });

  it('re-uploads without the lease once the old key has expired while a joiner still held it', async () => {
    const w = await world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    w.controlPlane = controlPlaneSecret(START_MS + MINUTE);
    w.lock('control-plane-join').record = { owner: 'i-joiner', expiresAtMs: START_MS + HOUR, fence: 7 };
    w.lock('control-plane-join').holderRenews = true;
    const result = await w.run();
    assert.equal(result.certificateKey?.action, 'renewed');
    assert.ok(w.clock.nowMs() >= START_MS + MINUTE, 'it waited for the old key to expire');
    assert.equal(uploads(w).length, 1);
    assert.equal(w.lock('control-plane-join').record?.owner, 'i-joiner', 'the joiner keeps its lease');
    assert.ok(lines.some((line) => /re-uploading without the lease/.test(line.msg)));
  });

  it('times out (exit 6) without uploading when a joiner holds the lease past --wait-timeout', async () => {
    const w = await world();
    w.controlPlane = controlPlaneSecret(START_MS + 29 * MINUTE);
    w.lock('control-plane-join').record = { owner: 'i-joiner', expiresAtMs: START_MS + HOUR, fence: 7 };
    w.lock('control-plane-join').holderRenews = true;
    await assert.rejects(w.run({ joinWaitMs: 5 * MINUTE }), (error: unknown) => {
      assert.ok(error instanceof ClusterTimeoutError);
      assert.match(error.message, /waiting for the control-plane-join lease .*held by i-joiner/);
      assert.match(error.hint ?? '', /next run/);
      return true;
    });
    assert.deepEqual(uploads(w), []);
    assert.equal(w.lock('rotate').record?.owner, undefined, 'the rotate lease was released');
  });

  it('re-uploads under the published key when publishing the new one fails, so the published key keeps working', async () => {
    const w = await world();
    w.controlPlane = controlPlaneSecret(START_MS + 20 * MINUTE);
    w.failPublish = (update) =>
      update.controlPlane === undefined
        ? undefined
        : new AwsUnavailableError('Secrets Manager is unreachable');
    await assert.rejects(w.run(), AwsUnavailableError);
    const [first, restore] = uploads(w);
    assert.ok(first && restore, 'uploaded twice');
    assert.doesNotMatch(first.config?.text ?? '', new RegExp(CURRENT_KEY));
    assert.match(restore.config?.text ?? '', new RegExp(`certificateKey: ${CURRENT_KEY}`));
    assert.equal((w.controlPlane as ControlPlaneSecret).certificateKey.reveal(), CURRENT_KEY);
  });

  it('renews both after a month without rotation: token first, then the key, each stamped', async () => {
    const w = await world();
    w.join = joinSecret(START_MS - 29 * 24 * HOUR);
    w.controlPlane = controlPlaneSecret(START_MS - 30 * 24 * HOUR);
    const result = await w.run();
    assert.deepEqual(w.events, [
      'kubeadm:version',
      'kubeadm:token create',
      'publish:join',
      'stamp',
      'kubeadm:upload-certs',
      'publish:controlPlane',
      'stamp',
      'kubeadm:token list',
    ]);
    assert.equal(result.token?.reason, 'expired');
    assert.equal(result.certificateKey?.reason, 'expired');
    assert.deepEqual(w.stamps.at(-1), {
      updatedAt: iso(START_MS),
      tokenExpiresAt: iso(START_MS + 24 * HOUR),
      certificateKeyExpiresAt: iso(START_MS + 2 * HOUR),
      versions: { join: 'join-v1', controlPlane: 'cp-v2' },
      adminConfExpiresAt: iso(START_MS + 300 * DAY),
    });
    assert.match(
      result.summary,
      /^renewed the bootstrap token \(expires .*\) and the certificate key \(expires .*\) of cluster prod$/,
    );
  });
});

describe('kboot rotate --dry-run', () => {
  it('plans what it would renew and delete, with redacted configs, and changes nothing', async () => {
    const w = await world();
    w.join = joinSecret(START_MS + 3 * HOUR);
    w.controlPlane = controlPlaneSecret(START_MS + 10 * MINUTE);
    w.listedTokens = [
      {
        token: 'old001.0123456789abcdef',
        description: 'kboot: created by i-x (kboot rotate)',
        expires: iso(START_MS - HOUR),
      },
    ];
    const { result: planned, planned: steps } = await w.runDry();
    assert.equal(planned.outcome, 'planned');
    assert.deepEqual(
      steps.map((change) => change.step),
      [
        'record-certificates',
        'rotate-lease',
        'renew-token',
        'renew-certificate-key',
        'delete-expired-tokens',
      ],
    );
    const material = steps.filter((change) => !['rotate-lease', 'record-certificates'].includes(change.step));
    assert.match(material[0]?.description ?? '', /the current token expires in 3h, under the 8h threshold/);
    assert.match(material[1]?.description ?? '', /holding the control-plane-join lease/);
    assert.match(material[2]?.description ?? '', /old001/);
    for (const change of steps) {
      for (const file of change.files ?? []) {
        assert.match(file.content, /\[REDACTED\]/);
        assert.doesNotMatch(file.content, /[a-z0-9]{6}\.[a-z0-9]{16}|[a-f0-9]{64}/);
      }
    }
    assert.deepEqual(w.commands(), ['kubeadm:version', 'kubeadm:token list']);
    assert.deepEqual(w.published, []);
    assert.deepEqual(w.stamps, []);
    assert.equal(w.locks.size, 0, 'no lease was taken');
    assert.equal(planned.token?.action, 'would-renew');
    assert.deepEqual(planned.deletedTokenIds, ['old001']);
  });

  it('plans nothing for fresh material, and runs no kubeadm', async () => {
    const w = await world();
    const { result: planned, planned: steps } = await w.runDry();
    assert.deepEqual(
      steps.map((change) => change.step),
      ['record-certificates', 'rotate-lease'],
      'only the certificate report and the lease',
    );
    assert.match(planned.summary, /is fresh; nothing would change/);
    assert.deepEqual(w.events, []);
  });
});
