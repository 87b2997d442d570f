/**
 * The OIDC documents from sa.pub. Oracles independent of the code under test: openssl for the
 * key id (kube-apiserver's: base64url SHA-256 of the DER SPKI), jose for the JWK's key material
 * and for verifying a token signed with the private key against the JWKS.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, importSPKI, jwtVerify, SignJWT } from 'jose';
import { KubeadmError } from '../../../../src/core/errors.js';
import {
  discoveryDocument,
  jwkFromPublicKeyPem,
  oidcDocuments,
} from '../../../../src/domain/irsa/documents.js';

const SOURCE = '/etc/kubernetes/pki/sa.pub';
const ISSUER = 'https://kboot-oidc.s3.eu-west-1.amazonaws.com';

const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
});
const ec = generateKeyPairSync('ec', {
  namedCurve: 'prime256v1',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'sec1', format: 'pem' },
});

/** base64url(SHA-256(DER SPKI)) by the openssl CLI. */
function opensslKeyId(publicPem: string): string {
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: publicPem });
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der });
  return digest.toString('base64url');
}

function expectKubeadmError(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof KubeadmError, String(error));
    assert.match(error.message, message);
    assert.ok(error.message.includes(SOURCE), `names the file: ${error.message}`);
    assert.ok(error.hint !== undefined);
    return true;
  });
}

describe('IRSA OIDC documents', () => {
  it('turns an RSA public key into a JWK: n, e, kid as kube-apiserver sets it, alg RS256, use sig', async () => {
    const jwk = jwkFromPublicKeyPem(rsa.publicKey, SOURCE);
    const reference = await exportJWK(await importSPKI(rsa.publicKey, 'RS256'));
    assert.deepEqual(jwk, {
      use: 'sig',
      kty: 'RSA',
      kid: opensslKeyId(rsa.publicKey),
      alg: 'RS256',
      n: reference.n,
      e: 'AQAB',
    });
  });

  it('reads a PKCS#1 "RSA PUBLIC KEY" too, with the same kid', () => {
    const pkcs1 = createPrivateKey(rsa.privateKey).export({ type: 'pkcs1', format: 'pem' }).toString();
    const publicPkcs1 = execFileSync('openssl', ['rsa', '-RSAPublicKey_out'], {
      input: pkcs1,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    assert.match(publicPkcs1, /BEGIN RSA PUBLIC KEY/);
    assert.deepEqual(jwkFromPublicKeyPem(publicPkcs1, SOURCE), jwkFromPublicKeyPem(rsa.publicKey, SOURCE));
  });

  it('turns a P-256 key into an ES256 JWK with crv, x and y', async () => {
    const jwk = jwkFromPublicKeyPem(ec.publicKey, SOURCE);
    const reference = await exportJWK(await importSPKI(ec.publicKey, 'ES256'));
    assert.deepEqual(jwk, {
      use: 'sig',
      kty: 'EC',
      kid: opensslKeyId(ec.publicKey),
      alg: 'ES256',
      crv: 'P-256',
      x: reference.x,
      y: reference.y,
    });
  });

  it('writes the discovery document kube-apiserver serves', () => {
    const jwks = { keys: [jwkFromPublicKeyPem(rsa.publicKey, SOURCE)] };
    assert.deepEqual(discoveryDocument(ISSUER, jwks), {
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const ecJwks = { keys: [jwkFromPublicKeyPem(ec.publicKey, SOURCE)] };
    assert.deepEqual(discoveryDocument(ISSUER, ecJwks).id_token_signing_alg_values_supported, ['ES256']);
  });

  it('publishes the JWKS, then the discovery document, as JSON; the same key gives the same bytes', () => {
    const documents = oidcDocuments(ISSUER, rsa.publicKey, SOURCE);
    assert.deepEqual(
      documents.objects.map((object) => object.key),
      ['openid/v1/jwks', '.well-known/openid-configuration'],
    );
    assert.deepEqual(JSON.parse(documents.objects[0]?.body ?? ''), documents.jwks);
    assert.deepEqual(JSON.parse(documents.objects[1]?.body ?? ''), documents.discovery);
    assert.deepEqual(oidcDocuments(ISSUER, rsa.publicKey, SOURCE).objects, documents.objects);
  });

  for (const [label, key, alg] of [
    ['RSA', rsa, 'RS256'],
    ['P-256', ec, 'ES256'],
  ] as const) {
    it(`verifies a token the ${label} private key signed, as the API server signs it, against the JWKS`, async () => {
      const { jwks } = oidcDocuments(ISSUER, key.publicKey, SOURCE);
      const kid = jwks.keys[0]?.kid as string;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setIssuer(ISSUER)
        .setAudience('sts.amazonaws.com')
        .setSubject('system:serviceaccount:default:app')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(createPrivateKey(key.privateKey));
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: ISSUER,
        audience: 'sts.amazonaws.com',
      });
      assert.equal(payload.sub, 'system:serviceaccount:default:app');
    });
  }

  const malformed: [string, string, RegExp][] = [
    ['an empty file', '', /is not a PEM public key/],
    [
      'a certificate',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      /is not a PEM public key/,
    ],
    [
      'a truncated key',
      '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n',
      /is not a valid PEM public key/,
    ],
    ['the private key', rsa.privateKey, /holds a private key, not a public key/],
  ];
  for (const [label, pem, message] of malformed) {
    it(`refuses ${label}, naming the file`, () => {
      expectKubeadmError(() => oidcDocuments(ISSUER, pem, SOURCE), message);
    });
  }

  it('never echoes a private key it was given', () => {
    assert.throws(
      () => jwkFromPublicKeyPem(rsa.privateKey, SOURCE),
      (error: unknown) => error instanceof Error && !error.message.includes('MII'),
    );
  });

  it('refuses a key type tokens cannot be signed with (Ed25519), naming the file', () => {
    const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' } });
    expectKubeadmError(() => jwkFromPublicKeyPem(ed.publicKey as unknown as string, SOURCE), /ed25519 key/);
  });
});
