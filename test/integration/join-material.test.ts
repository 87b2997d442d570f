/**
 * Join material in Secrets Manager: the SecretsJoinMaterialStore against moto (publish, read,
 * rotation, KMS, the create race), then failures moto cannot produce (access denied, KMS
 * decryption, scheduled deletion) through a stub client. Throughout, every log line and every
 * error message is checked for the secret values.
 */

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import pino from 'pino';
import { AwsClients } from '../../src/adapters/aws/clients.js';
import {
  SecretsJoinMaterialStore,
  type SecretsManagerSource,
} from '../../src/adapters/aws/secrets-join-material.js';
import { AwsDeniedError, ExitCode, KbootError, StateConflictError } from '../../src/core/errors.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { Secret } from '../../src/core/secrets.js';
import { JoinMaterialMissingError } from '../../src/domain/join/errors.js';
import type { ControlPlaneSecret, JoinSecret } from '../../src/domain/join/material.js';
import { type Moto, startMoto } from '../support/moto.js';
import { adminConf } from '../unit/domain/kubeconfig/fixtures.js';

const REGION = 'us-east-1';
const HASH = `sha256:${'c0'.repeat(32)}`;

function randomToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) =>
    Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * 36)]).join('');
  return `${pick(6)}.${pick(16)}`;
}

function randomCertificateKey(): string {
  return Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
}

/** Every secret value this file creates, to look for in logs and errors. */
const secretValues = new Set<string>();

function joinSecret(token = randomToken()): JoinSecret {
  secretValues.add(token);
  return {
    schemaVersion: 1,
    apiEndpoint: 'prod-api-123.elb.us-east-1.amazonaws.com:6443',
    token: new Secret(token),
    tokenExpiresAt: '2030-01-01T00:00:00.000Z',
    caCertHashes: [HASH],
    kubernetesVersion: 'v1.31.2',
    updatedAt: '2029-12-31T00:00:00.000Z',
  };
}

function controlPlaneSecret(key = randomCertificateKey()): ControlPlaneSecret {
  secretValues.add(key);
  return {
    schemaVersion: 1,
    certificateKey: new Secret(key),
    certificateKeyExpiresAt: '2030-01-01T02:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
  };
}

function adminConfSecret(): Secret<string> {
  const fixture = adminConf();
  for (const value of [fixture.certData, fixture.keyData, fixture.text]) secretValues.add(value);
  return new Secret(fixture.text);
}

/** Log lines captured from both a raw pino logger (no redaction: what the code itself logs) and kboot's. */
const logLines: string[] = [];
const errorTexts: string[] = [];

function lineSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
}

function rawLogger(): Logger {
  return pino({ level: 'trace' }, lineSink());
}

async function kbootLogger(): Promise<Logger> {
  return createLogger({ level: 'trace', format: 'json', destination: lineSink() });
}

/** Runs `fn`, expecting it to throw; records the error's text for the leak check. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof Error) {
      errorTexts.push(error.message, error.stack ?? '');
      if (error instanceof KbootError) errorTexts.push(error.hint ?? '', JSON.stringify(error.details));
    }
    return error;
  }
  assert.fail('expected a failure');
}

describe('join material in Secrets Manager (moto)', () => {
  let moto: Moto;
  let direct: SecretsManagerClient;
  const clientsMade: AwsClients[] = [];

  async function newStore(
    logger: Logger = rawLogger(),
  ): Promise<{ clients: AwsClients; store: SecretsJoinMaterialStore }> {
    const clients = new AwsClients({ region: REGION, logger, maxAttempts: 2 });
    clientsMade.push(clients);
    return { clients, store: new SecretsJoinMaterialStore({ clients, logger }) };
  }

  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.awsEnv());
    direct = new SecretsManagerClient({ region: REGION, endpoint: moto.endpoint });
  });
  beforeEach(async () => moto.reset());
  afterEach(() => {
    for (const clients of clientsMade.splice(0)) clients.destroy();
  });
  after(async () => {
    direct.destroy();
    await moto.stop();
  });

  it('publishes all three secrets and reads each back', async () => {
    const { store } = await newStore(await kbootLogger());
    const join = joinSecret();
    const controlPlane = controlPlaneSecret();
    const admin = adminConfSecret();
    const published = await store.publish('prod', { join, controlPlane, adminConf: admin });
    assert.deepEqual(
      published.map(({ secretId, created }) => ({ secretId, created })),
      [
        { secretId: 'kboot/prod/control-plane', created: true },
        { secretId: 'kboot/prod/admin.conf', created: true },
        { secretId: 'kboot/prod/join', created: true },
      ],
    );
    const readJoin = await store.readJoin('prod');
    assert.equal(readJoin.token.reveal(), join.token.reveal());
    assert.deepEqual({ ...readJoin, token: null }, { ...join, token: null });
    const readControlPlane = await store.readControlPlane('prod');
    assert.equal(readControlPlane.certificateKey.reveal(), controlPlane.certificateKey.reveal());
    assert.equal(readControlPlane.certificateKeyExpiresAt, controlPlane.certificateKeyExpiresAt);
    assert.equal((await store.readAdminConf('prod')).reveal(), admin.reveal());
  });

  it('tags the secrets for the cluster and names them in their description', async () => {
    const { store } = await newStore();
    await store.publish('prod', { join: joinSecret() });
    const described = await direct.send(new DescribeSecretCommand({ SecretId: 'kboot/prod/join' }));
    const tags = Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    assert.deepEqual(tags, { 'kubernetes.io/cluster/prod': 'owned', 'kboot.io/cluster': 'prod' });
    assert.match(described.Description ?? '', /cluster prod/);
    assert.equal(described.KmsKeyId, undefined);
  });

  it('publishing again makes the second version current', async () => {
    const { store } = await newStore();
    const first = joinSecret();
    const second = joinSecret();
    await store.publish('prod', { join: first });
    const [rotated] = await store.publish('prod', { join: second });
    assert.equal(rotated?.created, false);
    assert.equal((await store.readJoin('prod')).token.reveal(), second.token.reveal());
    const described = await direct.send(new DescribeSecretCommand({ SecretId: 'kboot/prod/join' }));
    const stages = described.VersionIdsToStages ?? {};
    assert.equal(Object.keys(stages).length, 2);
    assert.deepEqual(stages[rotated?.versionId ?? ''], ['AWSCURRENT']);
  });

  it('makes exactly one call per read, and one per publish once the secret exists', async () => {
    const { clients, store } = await newStore();
    await store.publish('prod', { join: joinSecret() });
    assert.deepEqual(
      clients.calls.map((call) => call.operation),
      ['PutSecretValue', 'CreateSecret'],
    );
    const cases: [string, () => Promise<unknown>, string[]][] = [
      ['publish join', () => store.publish('prod', { join: joinSecret() }), ['PutSecretValue']],
      [
        'publish all',
        () => store.publish('prod', { controlPlane: controlPlaneSecret(), adminConf: adminConfSecret() }),
        ['PutSecretValue', 'CreateSecret', 'PutSecretValue', 'CreateSecret'],
      ],
      ['readJoin', () => store.readJoin('prod'), ['GetSecretValue']],
      ['readControlPlane', () => store.readControlPlane('prod'), ['GetSecretValue']],
      ['readAdminConf', () => store.readAdminConf('prod'), ['GetSecretValue']],
    ];
    for (const [name, run, expected] of cases) {
      const before = clients.calls.length;
      await run();
      assert.deepEqual(
        clients.calls.slice(before).map((call) => `${call.service}:${call.operation}`),
        expected.map((operation) => `secretsmanager:${operation}`),
        name,
      );
    }
  });

  it('encrypts with the cluster KMS key when one is given', async () => {
    const response = await fetch(`${moto.endpoint}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'TrentService.CreateKey',
        Authorization: `AWS4-HMAC-SHA256 Credential=testing/20250101/${REGION}/kms/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ Description: 'kboot test cluster key' }),
    });
    assert.equal(response.status, 200);
    const keyId = ((await response.json()) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const { store } = await newStore();
    await store.publish(
      'prod',
      { join: joinSecret(), controlPlane: controlPlaneSecret() },
      { kmsKeyId: keyId },
    );
    for (const secretId of ['kboot/prod/join', 'kboot/prod/control-plane']) {
      const described = await direct.send(new DescribeSecretCommand({ SecretId: secretId }));
      assert.equal(described.KmsKeyId, keyId, secretId);
    }
    assert.ok((await store.readControlPlane('prod')).certificateKey.reveal().length === 64);
  });

  it('survives two masters publishing a new cluster at once', async () => {
    const a = await newStore();
    const b = await newStore();
    const joinA = joinSecret();
    const joinB = joinSecret();
    const results = await Promise.all([
      a.store.publish('race', { join: joinA }),
      b.store.publish('race', { join: joinB }),
    ]);
    assert.equal(
      results.flat().filter((result) => result.created).length,
      1,
      'exactly one creates the secret',
    );
    const current = (await a.store.readJoin('race')).token.reveal();
    assert.ok([joinA.token.reveal(), joinB.token.reveal()].includes(current));
  });

  it('says the cluster is not initialized when a secret is missing', async () => {
    const { store } = await newStore(await kbootLogger());
    const reads: [string, () => Promise<unknown>][] = [
      ['kboot/ghost/join', () => store.readJoin('ghost')],
      ['kboot/ghost/control-plane', () => store.readControlPlane('ghost')],
      ['kboot/ghost/admin.conf', () => store.readAdminConf('ghost')],
    ];
    for (const [secretId, read] of reads) {
      const error = await failure(read);
      assert.ok(error instanceof JoinMaterialMissingError, String(error));
      assert.equal(error.exitCode, ExitCode.usage);
      assert.equal(error.secretId, secretId);
      assert.match(
        error.message,
        new RegExp(`secret ${secretId} does not exist in ${REGION}: cluster "ghost" is not initialized`),
      );
      assert.match(error.hint ?? '', /--cluster and --region/);
    }
  });

  it('rejects malformed stored material naming the field, never the value', async () => {
    const { store } = await newStore(await kbootLogger());
    await store.publish('prod', { join: joinSecret(), controlPlane: controlPlaneSecret() });
    const token = randomToken();
    const key = randomCertificateKey();
    secretValues.add(token);
    secretValues.add(key);
    const cases: [string, string, () => Promise<unknown>, RegExp][] = [
      [
        'kboot/prod/join',
        JSON.stringify({
          ...JSON.parse(JSON.stringify({ ...joinSecret(), token })),
          caCertHashes: ['md5:abc'],
        }),
        () => store.readJoin('prod'),
        /secret kboot\/prod\/join is malformed: caCertHashes\[0\] must be/,
      ],
      [
        'kboot/prod/join',
        `{"token":"${token}",`,
        () => store.readJoin('prod'),
        /kboot\/prod\/join is malformed: it is not valid JSON/,
      ],
      [
        'kboot/prod/control-plane',
        JSON.stringify({
          schemaVersion: 1,
          certificateKey: `${key}00`,
          certificateKeyExpiresAt: 'soon',
          updatedAt: '2030-01-01T00:00:00Z',
        }),
        () => store.readControlPlane('prod'),
        /certificateKey must be .*; certificateKeyExpiresAt must be/,
      ],
    ];
    for (const [secretId, text, read, message] of cases) {
      await direct.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
      const error = await failure(read);
      assert.ok(error instanceof StateConflictError, String(error));
      assert.match(error.message, message);
      assert.ok(!error.message.includes(token) && !error.message.includes(key));
    }
  });
});

/** Failures moto does not produce, through a client whose `send` answers from a script. */
describe('join material: AWS failures (stub client)', () => {
  function awsError(name: string, message: string, httpStatusCode: number): Error {
    return Object.assign(new Error(message), { name, $metadata: { httpStatusCode }, $fault: 'client' });
  }

  function stubStore(answers: ((input: Record<string, unknown>) => unknown)[]): {
    store: SecretsJoinMaterialStore;
    calls: string[];
  } {
    const calls: string[] = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        calls.push(command.constructor.name.replace(/Command$/, ''));
        const answer = answers.shift();
        if (answer === undefined) throw new Error(`unexpected call ${command.constructor.name}`);
        return answer(command.input);
      },
    };
    const clients: SecretsManagerSource = {
      region: REGION,
      secretsManager: async () => client as unknown as SecretsManagerClient,
    };
    return { store: new SecretsJoinMaterialStore({ clients, logger: rawLogger() }), calls };
  }

  const raise = (error: Error) => () => {
    throw error;
  };

  it('maps AccessDenied on a read to AwsDeniedError naming the action and the secret', async () => {
    const { store, calls } = stubStore([
      raise(
        awsError(
          'AccessDeniedException',
          'User: arn:aws:sts::123456789012:assumed-role/worker/i-1 is not authorized to perform: secretsmanager:GetSecretValue',
          400,
        ),
      ),
    ]);
    const error = await failure(() => store.readControlPlane('prod'));
    assert.ok(error instanceof AwsDeniedError, String(error));
    assert.equal(error.exitCode, ExitCode.awsDenied);
    assert.match(error.message, /AWS refused reading secret kboot\/prod\/control-plane/);
    assert.match(
      error.hint ?? '',
      /grant secretsmanager:GetSecretValue on secret kboot\/prod\/control-plane/,
    );
    assert.deepEqual(calls, ['GetSecretValue']);
  });

  it('names kms:Decrypt when the secret cannot be decrypted', async () => {
    const { store } = stubStore([raise(awsError('DecryptionFailure', 'KMS denied', 400))]);
    const error = await failure(() => store.readJoin('prod'));
    assert.ok(error instanceof AwsDeniedError);
    assert.match(error.hint ?? '', /kms:Decrypt/);
  });

  it('asks for AWSCURRENT explicitly on every read', async () => {
    const inputs: Record<string, unknown>[] = [];
    const { store } = stubStore([
      (input) => {
        inputs.push(input);
        return { SecretString: adminConfSecret().reveal() };
      },
    ]);
    await store.readAdminConf('prod');
    assert.deepEqual(inputs, [{ SecretId: 'kboot/prod/admin.conf', VersionStage: 'AWSCURRENT' }]);
  });

  it('treats a secret without text as malformed', async () => {
    const { store } = stubStore([() => ({ SecretBinary: new Uint8Array([1, 2]) })]);
    const error = await failure(() => store.readAdminConf('prod'));
    assert.ok(error instanceof StateConflictError);
    assert.match(error.message, /holds binary data/);
  });

  it('treats a secret marked for deletion as missing on read', async () => {
    const { store } = stubStore([
      raise(
        awsError(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was marked for deletion.",
          400,
        ),
      ),
    ]);
    const error = await failure(() => store.readJoin('old'));
    assert.ok(error instanceof JoinMaterialMissingError);
    assert.match(error.message, /scheduled for deletion/);
    assert.match(error.hint ?? '', /restore-secret --secret-id kboot\/old\/join/);
  });

  it('handles losing the create race: put, create, then put again', async () => {
    const { store, calls } = stubStore([
      raise(awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.", 400)),
      raise(
        awsError(
          'ResourceExistsException',
          'The operation failed because the secret kboot/prod/join already exists.',
          400,
        ),
      ),
      () => ({ VersionId: 'v-2' }),
    ]);
    const published = await store.publish('prod', { join: joinSecret() });
    assert.deepEqual(calls, ['PutSecretValue', 'CreateSecret', 'PutSecretValue']);
    assert.deepEqual(published, [{ secretId: 'kboot/prod/join', versionId: 'v-2', created: false }]);
  });

  it('refuses to write a secret scheduled for deletion, saying how to fix it', async () => {
    const { store } = stubStore([
      raise(
        awsError(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was marked for deletion.",
          400,
        ),
      ),
    ]);
    const error = await failure(() => store.publish('prod', { adminConf: adminConfSecret() }));
    assert.ok(error instanceof StateConflictError, String(error));
    assert.match(error.message, /secret kboot\/prod\/admin.conf is scheduled for deletion/);
    assert.match(error.hint ?? '', /force-delete-without-recovery/);
  });

  it('maps AccessDenied on create to AwsDeniedError naming CreateSecret, TagResource and the KMS key', async () => {
    const { store } = stubStore([
      raise(awsError('ResourceNotFoundException', 'not found', 400)),
      raise(awsError('AccessDeniedException', 'not authorized to perform: secretsmanager:CreateSecret', 400)),
    ]);
    const error = await failure(() =>
      store.publish('prod', { join: joinSecret() }, { kmsKeyId: 'alias/kboot-prod' }),
    );
    assert.ok(error instanceof AwsDeniedError);
    assert.match(
      error.hint ?? '',
      /secretsmanager:CreateSecret and secretsmanager:TagResource on secret kboot\/prod\/join and kms:GenerateDataKey on key alias\/kboot-prod/,
    );
  });

  it('validates everything before writing anything', async () => {
    const { store, calls } = stubStore([]);
    const bad = { ...joinSecret(), caCertHashes: [] };
    await failure(() => store.publish('prod', { controlPlane: controlPlaneSecret(), join: bad }));
    assert.deepEqual(calls, []);
  });
});

/** Runs last (tests in a file run in order): everything above logged and threw. */
describe('join material: secrets in logs and errors', () => {
  it('no secret value appears in any log line or error message produced above', () => {
    assert.ok(logLines.length > 10, 'expected log lines to check');
    assert.ok(errorTexts.length > 10, 'expected errors to check');
    assert.ok(secretValues.size > 10, 'expected secrets to look for');
    for (const value of secretValues) {
      for (const line of logLines)
        assert.ok(!line.includes(value), `a log line leaks a secret: ${line.slice(0, 160)}`);
      for (const text of errorTexts)
        assert.ok(!text.includes(value), `an error leaks a secret: ${text.slice(0, 160)}`);
    }
  });
});
