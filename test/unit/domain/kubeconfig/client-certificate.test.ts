/**
 * The notAfter of admin.conf's embedded client certificate: read from the X.509 certificate;
 * none when the user has no embedded one; a clear error, never the value, when it is broken.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { parseAdminKubeconfig } from '../../../../src/domain/kubeconfig/admin.js';
import { clientCertificateNotAfterMs } from '../../../../src/domain/kubeconfig/client-certificate.js';
import { adminConfText } from '../../../support/admin-conf.js';

const NOT_AFTER = Date.UTC(2027, 1, 3, 4, 5, 6);

function notAfter(text: string): number | undefined {
  return clientCertificateNotAfterMs(parseAdminKubeconfig(new Secret(text), 'admin.conf'), 'admin.conf');
}

function withCertificateData(data: string): string {
  return adminConfText(NOT_AFTER).replace(/client-certificate-data: \S+/, `client-certificate-data: ${data}`);
}

describe('admin.conf client certificate expiry', () => {
  it('reads the notAfter of the embedded client certificate', () => {
    assert.equal(notAfter(adminConfText(NOT_AFTER)), NOT_AFTER);
  });

  it('says none when the user embeds no client certificate (a token, a file path)', () => {
    const text = adminConfText(NOT_AFTER).replace(/ {4}client-certificate-data: \S+\n/, '    token: abc\n');
    assert.equal(notAfter(text), undefined);
  });

  for (const [what, data, problem] of [
    ['no PEM block', Buffer.from('SECRET-VALUE-1').toString('base64'), /no base64 PEM CERTIFICATE block/],
    [
      'a PEM block that is not a certificate',
      Buffer.from(
        `-----BEGIN CERTIFICATE-----\n${Buffer.from('SECRET-VALUE-1').toString('base64')}\n-----END CERTIFICATE-----\n`,
      ).toString('base64'),
      /not a DER X\.509 certificate/,
    ],
    ['a number', '12345', /not a string/],
  ] as const) {
    it(`refuses ${what} with a clear error that quotes nothing of it`, () => {
      assert.throws(
        () => notAfter(withCertificateData(data)),
        (error: Error) => {
          assert.ok(error instanceof StateConflictError);
          assert.match(error.message, /^the client certificate in admin\.conf is malformed: /);
          assert.match(error.message, problem);
          assert.ok(!error.message.includes('SECRET-VALUE-1') && !error.message.includes(data));
          assert.ok(!JSON.stringify(error).includes('SECRET-VALUE-1'));
          return true;
        },
      );
    });
  }
});
