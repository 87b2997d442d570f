/**
 * The checks on join secrets, rule by rule: a bootstrap token, certificate key or CA pin with
 * anything before or after it is refused, and each refusal says what the value should look like
 * without showing it; a private key in place of the CA certificate is named as such, in any of
 * its PEM forms.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, KubeadmError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { caCertHash, isCaCertHash } from '../../../../src/domain/kubeadm/ca-hash.js';
import {
  bootstrapTokenFrom,
  certificateKeyFrom,
  isBootstrapToken,
  isCertificateKey,
  tokenId,
} from '../../../../src/domain/kubeadm/tokens.js';

const TOKEN = 'abcdef.0123456789abcdef';
const KEY = 'ab'.repeat(32);
const PIN = `sha256:${'cd'.repeat(32)}`;

describe('exact shapes', () => {
  it('a token, key or pin with anything before or after it is refused', () => {
    for (const around of [(v: string) => `x${v}`, (v: string) => `${v}x`, (v: string) => `${v}\n`]) {
      assert.equal(isBootstrapToken(around(TOKEN)), false);
      assert.equal(isCertificateKey(around(KEY)), false);
      assert.equal(isCaCertHash(around(PIN)), false);
      assert.throws(() => tokenId(new Secret(around(TOKEN))), ConfigError);
      assert.throws(() => bootstrapTokenFrom(around(TOKEN), 'token'), ConfigError);
      assert.throws(() => certificateKeyFrom(around(KEY), 'key'), ConfigError);
    }
    assert.equal(isBootstrapToken(TOKEN), true);
    assert.equal(isCertificateKey(KEY), true);
    assert.equal(isCaCertHash(PIN), true);
  });
});

describe('refusals say what the value should be, never the value', () => {
  const cases: [string, () => unknown, string, string][] = [
    [
      'tokenId',
      () => tokenId(new Secret('abcdef.0123456789abcdeX')),
      'a bootstrap token is malformed',
      'a kubeadm bootstrap token has the form [a-z0-9]{6}.[a-z0-9]{16}',
    ],
    [
      'bootstrapTokenFrom',
      () => bootstrapTokenFrom('abcdef.0123456789abcdeX', 'the join secret field token'),
      'the join secret field token is not a kubeadm bootstrap token',
      'a kubeadm bootstrap token has the form [a-z0-9]{6}.[a-z0-9]{16}',
    ],
    [
      'certificateKeyFrom',
      () => certificateKeyFrom('X'.repeat(64), 'the control-plane secret field certificateKey'),
      'the control-plane secret field certificateKey is not a kubeadm certificate key',
      'a kubeadm certificate key is 64 lowercase hex digits (32 bytes)',
    ],
  ];
  for (const [name, call, message, hint] of cases) {
    it(name, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, message);
        assert.equal(error.hint, hint);
        assert.ok(!JSON.stringify({ message: error.message, hint: error.hint }).includes('X'.repeat(8)));
        return true;
      });
    });
  }
});

describe('caCertHash refusals', () => {
  const body = 'MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA';
  for (const kind of ['', 'RSA ', 'EC ', 'ENCRYPTED ']) {
    it(`names a ${kind || 'PKCS #8 '}private key given for the CA certificate, without echoing it`, () => {
      const pem = `-----BEGIN ${kind}PRIVATE KEY-----\n${body}\n-----END ${kind}PRIVATE KEY-----\n`;
      assert.throws(
        () => caCertHash(pem, '/etc/kubernetes/pki/ca.crt'),
        (error: unknown) => {
          assert.ok(error instanceof KubeadmError);
          assert.equal(error.message, '/etc/kubernetes/pki/ca.crt holds a private key, not a certificate');
          assert.equal(error.hint, 'point kboot at the CA certificate (ca.crt), not its key (ca.key)');
          assert.ok(!JSON.stringify(error).includes(body));
          return true;
        },
      );
    });
  }

  it('a file without a certificate block, and a block that does not parse', () => {
    const hint =
      'the file should be the cluster CA kubeadm wrote (/etc/kubernetes/pki/ca.crt); reset this node and let kboot run again';
    assert.throws(
      () => caCertHash('hello', 'ca.crt'),
      (error: unknown) =>
        error instanceof KubeadmError &&
        error.message === 'ca.crt is not a PEM certificate (no "BEGIN CERTIFICATE" block)' &&
        error.hint === hint,
    );
    assert.throws(
      () => caCertHash('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'ca.crt'),
      (error: unknown) =>
        error instanceof KubeadmError &&
        error.message.startsWith('ca.crt is not a valid PEM certificate: ') &&
        error.hint === hint &&
        error.cause instanceof Error,
    );
  });
});
