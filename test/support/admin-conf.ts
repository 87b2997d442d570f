/**
 * An admin.conf (kubeadm's admin kubeconfig) whose embedded client certificate ends at a given
 * time: the certificate is built with @peculiar/asn1-x509 and carries a placeholder signature
 * (what reads it here only looks at its validity, never verifies it).
 */

import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
} from '@peculiar/asn1-x509';

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const RSA = '1.2.840.113549.1.1.1';
const COMMON_NAME = '2.5.4.3';

function name(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: cn }) }),
    ]),
  ]);
}

/** A PEM certificate for `cn`, valid until `notAfterMs`. */
export function certificatePem(notAfterMs: number, cn = 'kubernetes-admin'): string {
  const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null });
  const certificate = new Certificate({
    tbsCertificate: new TBSCertificate({
      version: 2,
      serialNumber: new Uint8Array([1, notAfterMs % 251]).buffer,
      signature: algorithm,
      issuer: name('kubernetes'),
      validity: new Validity({
        notBefore: new Date(notAfterMs - 365 * 86_400_000),
        notAfter: new Date(notAfterMs),
      }),
      subject: name(cn),
      subjectPublicKeyInfo: new SubjectPublicKeyInfo({
        algorithm: new AlgorithmIdentifier({ algorithm: RSA, parameters: null }),
        subjectPublicKey: new Uint8Array(16).buffer,
      }),
    }),
    signatureAlgorithm: algorithm,
    signatureValue: new Uint8Array(16).buffer,
  });
  const der = Buffer.from(AsnConvert.serialize(certificate)).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${der.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

/** kubeadm's admin.conf shape, with a client certificate ending at `notAfterMs` and `keyMarker` as its key. */
export function adminConfText(notAfterMs: number, keyMarker = 'KEY-SECRET-MARKER'): string {
  const cert = Buffer.from(certificatePem(notAfterMs)).toString('base64');
  const key = Buffer.from(`-----BEGIN PRIVATE KEY-----\n${keyMarker}\n-----END PRIVATE KEY-----\n`).toString(
    'base64',
  );
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kubernetes',
    '  cluster:',
    '    server: https://api.prod.example.com:6443',
    '    certificate-authority-data: Q0E=',
    'contexts:',
    '- name: kubernetes-admin@kubernetes',
    '  context: { cluster: kubernetes, user: kubernetes-admin }',
    'current-context: kubernetes-admin@kubernetes',
    'users:',
    '- name: kubernetes-admin',
    '  user:',
    `    client-certificate-data: ${cert}`,
    `    client-key-data: ${key}`,
    '',
  ].join('\n');
}
