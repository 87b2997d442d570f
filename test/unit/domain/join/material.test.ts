import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { InternalError, StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import {
  isHostPort,
  type JoinSecret,
  parseControlPlaneSecret,
  parseJoinSecret,
  serializeControlPlaneSecret,
  serializeJoinSecret,
} from '../../../../src/domain/join/material.js';

const TOKEN = 'abcdef.0123456789abcdef';
const CERT_KEY = 'f'.repeat(16) + '0123456789abcdef'.repeat(3);
const HASH = `sha256:${'a1'.repeat(32)}`;

function joinWire(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    apiEndpoint: 'prod-api-123.elb.us-east-1.amazonaws.com:6443',
    token: TOKEN,
    tokenExpiresAt: '2030-01-01T00:00:00Z',
    caCertHashes: [HASH],
    kubernetesVersion: 'v1.31.2',
    updatedAt: '2029-12-31T00:00:00.000Z',
    ...overrides,
  };
}

function controlPlaneWire(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    certificateKey: CERT_KEY,
    certificateKeyExpiresAt: '2030-01-01T02:00:00Z',
    updatedAt: '2030-01-01T00:00:00Z',
    ...overrides,
  };
}

const SOURCE = 'secret kboot/prod/join';

/** Asserts a StateConflictError naming the field, quoting none of the given values. */
function assertRejected(parse: () => unknown, field: RegExp, secrets: readonly string[]): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(error instanceof StateConflictError, `expected StateConflictError, got ${String(error)}`);
    assert.match(error.message, /^secret kboot\/prod\/join is malformed: /);
    assert.match(error.message, field);
    assert.ok(error.hint && error.hint.length > 0);
    for (const secret of secrets) {
      if (secret.length > 0) assert.ok(!error.message.includes(secret), `message leaks "${secret}"`);
      if (secret.length > 0) assert.ok(!(error.hint ?? '').includes(secret), `hint leaks "${secret}"`);
    }
    return true;
  });
}

describe('parseJoinSecret', () => {
  it('parses valid material and wraps the token in a Secret', () => {
    const join = parseJoinSecret(JSON.stringify(joinWire()), SOURCE);
    assert.ok(join.token instanceof Secret);
    assert.equal(join.token.reveal(), TOKEN);
    assert.equal(join.apiEndpoint, 'prod-api-123.elb.us-east-1.amazonaws.com:6443');
    assert.deepEqual(join.caCertHashes, [HASH]);
    assert.ok(!JSON.stringify(join).includes(TOKEN));
    assert.ok(!inspect(join).includes(TOKEN));
  });

  it('accepts several CA hashes, an IP endpoint and a version without "v"', () => {
    const join = parseJoinSecret(
      JSON.stringify(
        joinWire({
          apiEndpoint: '10.0.1.5:6443',
          caCertHashes: [HASH, `sha256:${'b'.repeat(64)}`],
          kubernetesVersion: '1.30.0',
        }),
      ),
      SOURCE,
    );
    assert.equal(join.caCertHashes.length, 2);
  });

  it('ignores fields it does not know (a minor addition by a newer kboot)', () => {
    const join = parseJoinSecret(JSON.stringify(joinWire({ discovery: 'x' })), SOURCE);
    assert.equal((join as unknown as Record<string, unknown>).discovery, undefined);
  });

  const malformed: { name: string; wire: Record<string, unknown>; field: RegExp; secrets?: string[] }[] = [
    {
      name: 'missing schemaVersion',
      wire: joinWire({ schemaVersion: undefined }),
      field: /schemaVersion is missing/,
    },
    { name: 'schemaVersion 0', wire: joinWire({ schemaVersion: 0 }), field: /schemaVersion must be 1/ },
    {
      name: 'schemaVersion as text',
      wire: joinWire({ schemaVersion: '1' }),
      field: /schemaVersion must be 1/,
    },
    {
      name: 'missing apiEndpoint',
      wire: joinWire({ apiEndpoint: undefined }),
      field: /apiEndpoint is missing/,
    },
    {
      name: 'apiEndpoint without port',
      wire: joinWire({ apiEndpoint: 'api.example.com' }),
      field: /apiEndpoint must be host:port/,
    },
    {
      name: 'apiEndpoint with a URL',
      wire: joinWire({ apiEndpoint: 'https://api.example.com:6443' }),
      field: /apiEndpoint must be host:port/,
    },
    { name: 'apiEndpoint port 0', wire: joinWire({ apiEndpoint: 'api:0' }), field: /apiEndpoint must be/ },
    {
      name: 'apiEndpoint port 70000',
      wire: joinWire({ apiEndpoint: 'api:70000' }),
      field: /apiEndpoint must be/,
    },
    { name: 'missing token', wire: joinWire({ token: undefined }), field: /token is missing/ },
    {
      name: 'token with upper case',
      wire: joinWire({ token: 'ABCDEF.0123456789abcdef' }),
      field: /token must be a kubeadm bootstrap token/,
      secrets: ['ABCDEF.0123456789abcdef'],
    },
    {
      name: 'token too short',
      wire: joinWire({ token: 'abcdef.0123456789' }),
      field: /token must be a kubeadm bootstrap token/,
      secrets: ['abcdef.0123456789'],
    },
    {
      name: 'token as a number',
      wire: joinWire({ token: 123456 }),
      field: /token must be/,
      secrets: ['123456'],
    },
    {
      name: 'missing tokenExpiresAt',
      wire: joinWire({ tokenExpiresAt: undefined }),
      field: /tokenExpiresAt is missing/,
    },
    {
      name: 'tokenExpiresAt not a date',
      wire: joinWire({ tokenExpiresAt: 'tomorrow' }),
      field: /tokenExpiresAt must be an ISO 8601/,
    },
    {
      name: 'tokenExpiresAt without offset',
      wire: joinWire({ tokenExpiresAt: '2030-01-01T00:00:00' }),
      field: /tokenExpiresAt must be/,
    },
    {
      name: 'missing caCertHashes',
      wire: joinWire({ caCertHashes: undefined }),
      field: /caCertHashes is missing/,
    },
    {
      name: 'empty caCertHashes',
      wire: joinWire({ caCertHashes: [] }),
      field: /caCertHashes must be a non-empty list/,
    },
    {
      name: 'caCertHashes as a string',
      wire: joinWire({ caCertHashes: HASH }),
      field: /caCertHashes must be/,
    },
    {
      name: 'caCertHash without prefix',
      wire: joinWire({ caCertHashes: [HASH, 'a1'.repeat(32)] }),
      field: /caCertHashes\[1\] must be "sha256:" followed by 64/,
    },
    {
      name: 'caCertHash of sha1',
      wire: joinWire({ caCertHashes: [`sha1:${'a'.repeat(40)}`] }),
      field: /caCertHashes\[0\] must be/,
    },
    {
      name: 'missing kubernetesVersion',
      wire: joinWire({ kubernetesVersion: undefined }),
      field: /kubernetesVersion is missing/,
    },
    {
      name: 'kubernetesVersion "latest"',
      wire: joinWire({ kubernetesVersion: 'latest' }),
      field: /kubernetesVersion must be a Kubernetes version/,
    },
    { name: 'missing updatedAt', wire: joinWire({ updatedAt: undefined }), field: /updatedAt is missing/ },
    {
      name: 'updatedAt as epoch',
      wire: joinWire({ updatedAt: 1_700_000_000 }),
      field: /updatedAt must be an ISO 8601/,
    },
  ];
  for (const { name, wire, field, secrets = [] } of malformed) {
    it(`rejects ${name}, naming the field`, () => {
      assertRejected(() => parseJoinSecret(JSON.stringify(wire), SOURCE), field, [TOKEN, ...secrets]);
    });
  }

  it('names every bad field at once', () => {
    assertRejected(
      () => parseJoinSecret(JSON.stringify(joinWire({ token: 'x', caCertHashes: [] })), SOURCE),
      /token must be .*; caCertHashes must be/,
      [],
    );
  });

  it('rejects text that is not JSON without quoting it', () => {
    const text = `{"token": "${TOKEN}", oops`;
    assertRejected(() => parseJoinSecret(text, SOURCE), /it is not valid JSON$/, [TOKEN, 'oops']);
  });

  for (const text of ['[]', 'null', '"abcdef.0123456789abcdef"', '42']) {
    it(`rejects the non-object ${text}`, () => {
      assertRejected(() => parseJoinSecret(text, SOURCE), /it is not a JSON object/, [TOKEN]);
    });
  }

  it('refuses a newer schemaVersion with a hint to upgrade', () => {
    assert.throws(
      () => parseJoinSecret(JSON.stringify(joinWire({ schemaVersion: 2 })), SOURCE),
      (error: unknown) =>
        error instanceof StateConflictError &&
        /schemaVersion 2, newer than this kboot understands \(1\)/.test(error.message) &&
        /upgrade kboot/.test(error.hint ?? ''),
    );
  });
});

describe('parseControlPlaneSecret', () => {
  it('parses valid material and wraps the certificate key', () => {
    const cp = parseControlPlaneSecret(JSON.stringify(controlPlaneWire()), SOURCE);
    assert.equal(cp.certificateKey.reveal(), CERT_KEY);
    assert.equal(cp.certificateKeyExpiresAt, '2030-01-01T02:00:00Z');
    assert.ok(!JSON.stringify(cp).includes(CERT_KEY));
    assert.equal(cp.encryptionKey, undefined);
  });

  it('keeps the encryption at rest key as a Secret, and writes it back', () => {
    const key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
    const cp = parseControlPlaneSecret(JSON.stringify(controlPlaneWire({ encryptionKey: key })), SOURCE);
    assert.equal(cp.encryptionKey?.reveal(), key);
    assert.ok(!JSON.stringify(cp).includes(key));
    assert.equal(JSON.parse(serializeControlPlaneSecret(cp)).encryptionKey, key);
  });

  const malformed: { name: string; wire: Record<string, unknown>; field: RegExp; secrets?: string[] }[] = [
    {
      name: 'schemaVersion 3.5',
      wire: controlPlaneWire({ schemaVersion: 0.5 }),
      field: /schemaVersion must be 1/,
    },
    {
      name: 'missing certificateKey',
      wire: controlPlaneWire({ certificateKey: undefined }),
      field: /certificateKey is missing/,
    },
    {
      name: 'upper-case certificateKey',
      wire: controlPlaneWire({ certificateKey: CERT_KEY.toUpperCase() }),
      field: /certificateKey must be a kubeadm certificate key/,
      secrets: [CERT_KEY.toUpperCase()],
    },
    {
      name: 'short certificateKey',
      wire: controlPlaneWire({ certificateKey: CERT_KEY.slice(2) }),
      field: /certificateKey must be/,
      secrets: [CERT_KEY.slice(2)],
    },
    {
      name: 'missing certificateKeyExpiresAt',
      wire: controlPlaneWire({ certificateKeyExpiresAt: undefined }),
      field: /certificateKeyExpiresAt is missing/,
    },
    {
      name: 'bad certificateKeyExpiresAt',
      wire: controlPlaneWire({ certificateKeyExpiresAt: '2030-13-01T00:00:00Z' }),
      field: /certificateKeyExpiresAt must be/,
    },
    {
      name: 'missing updatedAt',
      wire: controlPlaneWire({ updatedAt: undefined }),
      field: /updatedAt is missing/,
    },
    {
      name: 'a short encryptionKey',
      wire: controlPlaneWire({ encryptionKey: 'c2hvcnRrZXk=' }),
      field: /encryptionKey must be an encryption at rest key/,
      secrets: ['c2hvcnRrZXk='],
    },
  ];
  for (const { name, wire, field, secrets = [] } of malformed) {
    it(`rejects ${name}, naming the field`, () => {
      assertRejected(() => parseControlPlaneSecret(JSON.stringify(wire), SOURCE), field, [
        CERT_KEY,
        ...secrets,
      ]);
    });
  }
});

describe('serialize', () => {
  const join: JoinSecret = {
    schemaVersion: 1,
    apiEndpoint: '[fd00::1]:6443',
    token: new Secret(TOKEN),
    tokenExpiresAt: '2030-01-01T00:00:00.000Z',
    caCertHashes: [HASH],
    kubernetesVersion: 'v1.31.2',
    updatedAt: '2029-12-31T00:00:00.000Z',
  };

  it('round-trips the join secret', () => {
    const text = serializeJoinSecret(join);
    assert.equal(JSON.parse(text).token, TOKEN);
    const back = parseJoinSecret(text, SOURCE);
    assert.deepEqual({ ...back, token: back.token.reveal() }, { ...join, token: TOKEN });
  });

  it('round-trips the control-plane secret', () => {
    const cp = parseControlPlaneSecret(JSON.stringify(controlPlaneWire()), SOURCE);
    const back = parseControlPlaneSecret(serializeControlPlaneSecret(cp), SOURCE);
    assert.equal(back.certificateKey.reveal(), CERT_KEY);
    assert.equal(back.updatedAt, cp.updatedAt);
  });

  it('refuses to publish malformed material it built itself, without quoting it', () => {
    const bad = { ...join, token: new Secret('not-a-token-value') };
    assert.throws(
      () => serializeJoinSecret(bad),
      (error: unknown) =>
        error instanceof InternalError &&
        /refusing to publish malformed join material: token must be/.test(error.message) &&
        !error.message.includes('not-a-token-value'),
    );
  });
});

describe('isHostPort', () => {
  const cases: [string, boolean][] = [
    ['api.example.com:6443', true],
    ['10.0.0.1:443', true],
    ['[fd00::1]:6443', true],
    ['localhost:1', true],
    ['api.example.com', false],
    [':6443', false],
    ['api.example.com:', false],
    ['api.example.com:65536', false],
    ['fd00::1:6443', false],
    ['api_example.com:6443', false],
    ['-api.example.com:6443', false],
    ['api.example.com:64a3', false],
  ];
  for (const [value, ok] of cases) it(`${value} → ${ok}`, () => assert.equal(isHostPort(value), ok));
});
