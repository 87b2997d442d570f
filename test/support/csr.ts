/**
 * Kubelet-like certificate signing requests for tests, made with the openssl CLI (Node cannot
 * make a PKCS #10 request): an EC P-256 key, a subject, and the subjectAltNames asked for.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CsrSpec {
  /** Default: /O=system:nodes/CN=system:node:<node>. */
  subject?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Default: an EC P-256 key, as the kubelet makes. */
  key?: 'ec-p256' | 'ec-p384' | 'rsa-2048';
}

/** A kubelet client request: the subject only, no subjectAltName. */
export function makeClientCsr(node: string, spec: Pick<CsrSpec, 'subject' | 'key'> = {}): string {
  return makeCsr(node, { dnsNames: [], ...spec });
}

/** PEM text of a request for `node`. */
export function makeCsr(node: string, spec: CsrSpec = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kboot-csr-'));
  try {
    const key = path.join(dir, 'key.pem');
    const out = path.join(dir, 'req.pem');
    if (spec.key === 'rsa-2048') {
      execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
    } else {
      const curve = spec.key === 'ec-p384' ? 'secp384r1' : 'prime256v1';
      execFileSync('openssl', ['ecparam', '-name', curve, '-genkey', '-noout', '-out', key]);
    }
    const sans = [
      ...(spec.dnsNames ?? [node]).map((name) => `DNS:${name}`),
      ...(spec.ipAddresses ?? []).map((ip) => `IP:${ip}`),
    ];
    execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      key,
      '-subj',
      spec.subject ?? `/O=system:nodes/CN=system:node:${node}`,
      ...(sans.length === 0 ? [] : ['-addext', `subjectAltName=${sans.join(',')}`]),
      '-out',
      out,
    ]);
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A pending client request of a new kubelet, made with a bootstrap token, as kubectl lists it. */
export function clientCsrObject(
  name: string,
  pem: string,
  overrides: { username?: string; groups?: string[]; usages?: string[]; createdAt?: string } = {},
) {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name, creationTimestamp: overrides.createdAt ?? new Date().toISOString() },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      username: overrides.username ?? 'system:bootstrap:abcdef',
      groups: overrides.groups ?? [
        'system:bootstrappers',
        'system:bootstrappers:kubeadm:default-node-token',
        'system:authenticated',
      ],
      usages: overrides.usages ?? ['digital signature', 'client auth'],
    },
    status: {},
  };
}

/** A pending CertificateSigningRequest object as `kubectl get csr -o json` lists it. */
export function csrObject(
  name: string,
  node: string,
  pem: string,
  overrides: { username?: string; groups?: string[]; usages?: string[]; signerName?: string } = {},
) {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: overrides.signerName ?? 'kubernetes.io/kubelet-serving',
      username: overrides.username ?? `system:node:${node}`,
      groups: overrides.groups ?? ['system:nodes', 'system:authenticated'],
      usages: overrides.usages ?? ['digital signature', 'server auth'],
    },
    status: {},
  };
}
