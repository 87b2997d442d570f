/**
 * The two OIDC documents an IAM OIDC provider reads, built as kube-apiserver builds its own
 * (`/.well-known/openid-configuration` and `/openid/v1/jwks`): the discovery document names the
 * issuer and the JWKS; the JWKS holds the service account public key (sa.pub) as a JWK whose `kid`
 * is the one the API server puts in the header of every token it signs — the unpadded base64url
 * SHA-256 of the key's DER SubjectPublicKeyInfo — so a verifier finds the key by that id. Pure.
 */

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { KubeadmError } from '../../core/errors.js';
import { issuerObjectUrl, OIDC_DISCOVERY_KEY, OIDC_JWKS_KEY } from './issuer.js';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'ES384' | 'ES512';

export interface Jwk {
  use: 'sig';
  kty: string;
  kid: string;
  alg: SigningAlgorithm;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface Jwks {
  keys: Jwk[];
}

export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  response_types_supported: ['id_token'];
  subject_types_supported: ['public'];
  id_token_signing_alg_values_supported: SigningAlgorithm[];
}

/** One object to publish under the issuer, JSON text. */
export interface OidcObject {
  key: string;
  body: string;
}

export interface OidcDocuments {
  discovery: DiscoveryDocument;
  jwks: Jwks;
  /** The objects, in the order they are published: the keys first, then the document naming them. */
  objects: OidcObject[];
}

/** kube-apiserver's key id: base64url (no padding) of the SHA-256 of the DER SPKI. */
export function apiServerKeyId(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

/** The JWS algorithm kube-apiserver signs with for this key: RS256, or ES256/384/512 by curve. */
function signingAlgorithm(key: KeyObject, source: string): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new KubeadmError(
    `${source} holds a ${key.asymmetricKeyType ?? 'unknown'} key, which service account tokens cannot be signed with`,
    {
      hint: 'kubeadm writes an RSA (or ECDSA P-256/P-384) service account key; reset this node and let kboot run again',
    },
  );
}

const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function parsePublicKey(pem: string, source: string): KeyObject {
  const hint =
    'the file should be the service account public key kubeadm wrote (/etc/kubernetes/pki/sa.pub); reset this node and let kboot run again';
  if (PRIVATE_KEY_MARKER.test(pem)) {
    // Say what it is without echoing any of it.
    throw new KubeadmError(`${source} holds a private key, not a public key`, { hint });
  }
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem)) {
    throw new KubeadmError(`${source} is not a PEM public key (no "BEGIN PUBLIC KEY" block)`, { hint });
  }
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new KubeadmError(`${source} is not a valid PEM public key: ${reason}`, { cause: error, hint });
  }
}

/** The JWK of a PEM public key (SPKI or PKCS#1), with the API server's kid. `source` names the file. */
export function jwkFromPublicKeyPem(pem: string, source: string): Jwk {
  const key = parsePublicKey(pem, source);
  const alg = signingAlgorithm(key, source);
  const exported = key.export({ format: 'jwk' });
  const jwk: Jwk = { use: 'sig', kty: String(exported.kty), kid: apiServerKeyId(key), alg };
  for (const field of ['n', 'e', 'crv', 'x', 'y'] as const) {
    const value = exported[field];
    if (typeof value === 'string') jwk[field] = value;
  }
  return jwk;
}

export function jwksFromPublicKeyPems(pems: readonly string[], source: string): Jwks {
  return { keys: pems.map((pem) => jwkFromPublicKeyPem(pem, source)) };
}

export function discoveryDocument(issuer: string, jwks: Jwks): DiscoveryDocument {
  return {
    issuer,
    jwks_uri: issuerObjectUrl(issuer, OIDC_JWKS_KEY),
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(jwks.keys.map((key) => key.alg))].sort(),
  };
}

/** JSON as published: two-space indent, final newline; the same input gives the same bytes. */
function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Both documents for the issuer and the service account public key in `pem` (read from `source`). */
export function oidcDocuments(issuer: string, pem: string, source: string): OidcDocuments {
  const jwks = jwksFromPublicKeyPems([pem], source);
  const discovery = discoveryDocument(issuer, jwks);
  return {
    discovery,
    jwks,
    objects: [
      { key: OIDC_JWKS_KEY, body: json(jwks) },
      { key: OIDC_DISCOVERY_KEY, body: json(discovery) },
    ],
  };
}
