/**
 * The CA pin kubeadm join checks (`caCertHashes`, `--discovery-token-ca-cert-hash`): `sha256:` and
 * the hex SHA-256 of the CA certificate's SubjectPublicKeyInfo, DER-encoded. kboot computes it from
 * ca.crt itself rather than reading it from kubeadm's output.
 */

import { createHash, X509Certificate } from 'node:crypto';
import { KubeadmError } from '../../core/errors.js';

export const CA_CERT_HASH_PATTERN = /^sha256:[a-f0-9]{64}$/;

const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** `sha256:<hex>` of the certificate's SPKI. `source` names the file, for the error. */
export function caCertHash(pem: string | Buffer, source: string): string {
  const text = pem.toString(); // a Buffer reads as UTF-8
  if (PRIVATE_KEY_MARKER.test(text)) {
    // Say what it is without echoing any of it.
    throw new KubeadmError(`${source} holds a private key, not a certificate`, {
      hint: 'point kboot at the CA certificate (ca.crt), not its key (ca.key)',
    });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KubeadmError(`${source} is not a PEM certificate (no "BEGIN CERTIFICATE" block)`, {
      hint: 'the file should be the cluster CA kubeadm wrote (/etc/kubernetes/pki/ca.crt); reset this node and let kboot run again',
    });
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new KubeadmError(`${source} is not a valid PEM certificate: ${reason}`, {
      cause: error,
      hint: 'the file should be the cluster CA kubeadm wrote (/etc/kubernetes/pki/ca.crt); reset this node and let kboot run again',
    });
  }
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export function isCaCertHash(value: string): boolean {
  return CA_CERT_HASH_PATTERN.test(value);
}
