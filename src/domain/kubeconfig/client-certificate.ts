/**
 * When the client certificate embedded in a kubeconfig (`client-certificate-data` of its admin
 * user: kubeadm's admin.conf) expires: its X.509 notAfter, parsed with @peculiar/asn1-x509 (as
 * the CSR checks parse requests). Pure. Errors say what is wrong, never a value.
 */

import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { StateConflictError } from '../../core/errors.js';
import type { AdminKubeconfig } from './admin.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/;

function malformed(source: string, problem: string): StateConflictError {
  return new StateConflictError(`the client certificate in ${source} is malformed: ${problem}`, {
    hint: 'republish admin.conf from a control-plane node (kubeadm certs renew admin.conf, then kboot rotate)',
    details: { source },
  });
}

/**
 * The notAfter (ms since the epoch) of the admin user's embedded client certificate; undefined
 * when the user has none embedded (a certificate file path, a token or an exec plugin).
 */
export function clientCertificateNotAfterMs(admin: AdminKubeconfig, source: string): number | undefined {
  const data = admin.user.reveal()['client-certificate-data'];
  if (data === undefined) return undefined;
  if (typeof data !== 'string') throw malformed(source, 'client-certificate-data is not a string');
  const pem = Buffer.from(data, 'base64').toString('utf8');
  const match = PEM_CERTIFICATE.exec(pem);
  if (match?.[1] === undefined)
    throw malformed(source, 'client-certificate-data holds no base64 PEM CERTIFICATE block');
  let certificate: Certificate;
  try {
    certificate = AsnConvert.parse(Buffer.from(match[1].replace(/\s+/g, ''), 'base64'), Certificate);
  } catch {
    throw malformed(source, 'client-certificate-data is not a DER X.509 certificate');
  }
  const notAfterMs = certificate.tbsCertificate.validity.notAfter.getTime().getTime();
  if (!Number.isFinite(notAfterMs)) throw malformed(source, 'its notAfter is not a valid time');
  return notAfterMs;
}
