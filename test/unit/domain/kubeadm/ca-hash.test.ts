import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeadmError } from '../../../../src/core/errors.js';
import { caCertHash, isCaCertHash } from '../../../../src/domain/kubeadm/ca-hash.js';

/**
 * The oracle is the pipeline kubeadm's documentation gives for computing the hash by hand:
 *   openssl x509 -pubkey -in ca.crt | openssl rsa -pubin -outform der | openssl dgst -sha256 -hex
 * (with `openssl pkey -pubin` in place of `openssl rsa`, so EC keys work too).
 */
function opensslHash(certPath: string): string {
  const publicKey = execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', certPath]);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: publicKey });
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der, encoding: 'utf8' });
  return `sha256:${digest.trim().split(/\s+/).pop()}`;
}

function makeCa(dir: string, name: string, keyArgs: string[]): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=kubernetes',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

describe('caCertHash', () => {
  let dir: string;
  let rsa: { cert: string; key: string };
  let ec: { cert: string; key: string };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kboot-ca-hash-'));
    rsa = makeCa(dir, 'rsa', ['-newkey', 'rsa:2048']);
    ec = makeCa(dir, 'ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('matches openssl for an RSA CA', () => {
    const hash = caCertHash(readFileSync(rsa.cert, 'utf8'), rsa.cert);
    assert.ok(isCaCertHash(hash), hash);
    assert.equal(hash, opensslHash(rsa.cert));
  });

  it('matches openssl for an ECDSA CA, and takes a Buffer', () => {
    assert.equal(caCertHash(readFileSync(ec.cert), ec.cert), opensslHash(ec.cert));
  });

  it('differs between two CAs', () => {
    assert.notEqual(caCertHash(readFileSync(rsa.cert), 'a'), caCertHash(readFileSync(ec.cert), 'b'));
  });

  it('names the bad file, and never echoes a private key given by mistake', () => {
    const keyText = readFileSync(rsa.key, 'utf8');
    assert.throws(
      () => caCertHash(keyText, '/etc/kubernetes/pki/ca.key'),
      (error: unknown) => {
        assert.ok(error instanceof KubeadmError);
        assert.equal(error.message, '/etc/kubernetes/pki/ca.key holds a private key, not a certificate');
        assert.ok(!JSON.stringify(error).includes(keyText.split('\n')[1] as string));
        return true;
      },
    );
  });

  const bad: [string, string, RegExp][] = [
    ['empty file', '', /\/x\/ca\.crt is not a PEM certificate/],
    ['not PEM', 'hello', /\/x\/ca\.crt is not a PEM certificate/],
    [
      'corrupt PEM body',
      '-----BEGIN CERTIFICATE-----\nMIIBnotbase64atall==\n-----END CERTIFICATE-----\n',
      /\/x\/ca\.crt is not a valid PEM certificate/,
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses a ${name}`, () => {
      assert.throws(
        () => caCertHash(text, '/x/ca.crt'),
        (error: unknown) => error instanceof KubeadmError && message.test(error.message),
      );
    });
  }
});
