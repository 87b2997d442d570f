import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError } from '../../../../src/core/errors.js';
import { REDACTED, Secret } from '../../../../src/core/secrets.js';
import {
  bootstrapTokenFrom,
  certificateKeyFrom,
  generateBootstrapToken,
  generateCertificateKey,
  tokenId,
} from '../../../../src/domain/kubeadm/tokens.js';

describe('bootstrap tokens', () => {
  it('are [a-z0-9]{6}.[a-z0-9]{16}, different every time, and hidden when printed', () => {
    const tokens = Array.from({ length: 200 }, () => generateBootstrapToken());
    for (const token of tokens) {
      // kubeadm's own token format, written out here rather than taken from the code under test.
      assert.match(token.reveal(), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      assert.equal(String(token), REDACTED);
      assert.equal(JSON.stringify({ token }), `{"token":"${REDACTED}"}`);
      assert.equal(inspect(token), REDACTED);
    }
    assert.equal(new Set(tokens.map((token) => token.reveal())).size, tokens.length);
  });

  it('use the whole alphabet (no character class left out)', () => {
    const seen = new Set(
      Array.from({ length: 300 }, () => generateBootstrapToken().reveal().replace('.', '')).join(''),
    );
    assert.equal(seen.size, 36);
  });

  it('have a public id: the six characters before the dot', () => {
    assert.equal(tokenId(new Secret('abcdef.0123456789abcdef')), 'abcdef');
    const token = generateBootstrapToken();
    assert.equal(tokenId(token), token.reveal().slice(0, 6));
  });

  it('refuse a malformed token without showing it', () => {
    for (const bad of ['ABCDEF.0123456789abcdef', 'abcdef0123456789abcdef', 'abcde.0123456789abcdefg', '']) {
      assert.throws(
        () => bootstrapTokenFrom(bad, 'the join secret field token'),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /^the join secret field token is not a kubeadm bootstrap token$/);
          return true;
        },
      );
      assert.throws(() => tokenId(new Secret(bad)), ConfigError);
    }
    assert.equal(bootstrapTokenFrom('abcdef.0123456789abcdef', 'x').reveal(), 'abcdef.0123456789abcdef');
  });
});

describe('certificate keys', () => {
  it('are 32 random bytes as 64 lowercase hex digits', () => {
    const keys = Array.from({ length: 50 }, () => generateCertificateKey());
    for (const key of keys) {
      assert.match(key.reveal(), /^[0-9a-f]{64}$/);
      assert.equal(String(key), REDACTED);
    }
    assert.equal(new Set(keys.map((key) => key.reveal())).size, keys.length);
  });

  it('are checked when read, without showing the value', () => {
    const bad = 'F'.repeat(64);
    assert.throws(
      () => certificateKeyFrom(bad, 'certificateKey'),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(bad),
    );
    assert.equal(certificateKeyFrom('a'.repeat(64), 'x').reveal(), 'a'.repeat(64));
  });
});
