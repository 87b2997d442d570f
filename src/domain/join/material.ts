/**
 * Join material: what a node needs to join a cluster, as stored in Secrets Manager.
 *  - `kboot/<cluster>/join` (JoinSecret): API endpoint, bootstrap token, CA cert hashes;
 *  - `kboot/<cluster>/control-plane` (ControlPlaneSecret): the certificate key;
 *  - `kboot/<cluster>/admin.conf`: the admin kubeconfig, as text.
 * The first two are JSON documents with a schemaVersion. In the domain their secret fields are
 * `Secret<string>`; `parse*` validates text from the store and `serialize*` renders text for it.
 * Errors name the field and what it must be, never its value.
 */

import { z } from 'zod';
import { InternalError, StateConflictError } from '../../core/errors.js';
import { Secret } from '../../core/secrets.js';
import { CA_CERT_HASH_PATTERN } from '../kubeadm/ca-hash.js';
import { ENCRYPTION_KEY_PATTERN } from '../kubeadm/hardening.js';
import { BOOTSTRAP_TOKEN_PATTERN, CERTIFICATE_KEY_PATTERN } from '../kubeadm/tokens.js';
import { describeIssues, type FieldExpectations } from './validation.js';

export const JOIN_MATERIAL_SCHEMA_VERSION = 1;

export const KUBERNETES_VERSION_PATTERN = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

export interface JoinSecret {
  schemaVersion: 1;
  /** host:port of the Kubernetes API (the load balancer's DNS name, usually). */
  apiEndpoint: string;
  /** kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
  token: Secret<string>;
  tokenExpiresAt: string;
  /** `sha256:<hex>` of the cluster CA's SubjectPublicKeyInfo; more than one during a CA rotation. */
  caCertHashes: string[];
  kubernetesVersion: string;
  updatedAt: string;
}

export interface ControlPlaneSecret {
  schemaVersion: 1;
  /** kubeadm certificate key (32 bytes, hex) that decrypts the uploaded control-plane certs. */
  certificateKey: Secret<string>;
  certificateKeyExpiresAt: string;
  updatedAt: string;
  /**
   * The secretbox key of the EncryptionConfiguration (32 bytes, base64): made at init when
   * encryption at rest uses secretbox, written by every joining master. Kept across rotations.
   */
  encryptionKey?: Secret<string>;
}

export interface JoinMaterial {
  join: JoinSecret;
  controlPlane: ControlPlaneSecret;
  /** The admin kubeconfig (YAML) kubeadm wrote to /etc/kubernetes/admin.conf. */
  adminConf: Secret<string>;
}

/** What a publish writes: any of the three (a token rotation leaves admin.conf alone). */
export type JoinMaterialUpdate = Partial<JoinMaterial>;

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]+\]$/;

/** `host:port` with a DNS name, an IPv4 address or a bracketed IPv6 address, port 1–65535. */
export function isHostPort(value: string): boolean {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return false;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return false;
  return IPV4.test(host) || IPV6_BRACKETED.test(host) || HOSTNAME.test(host);
}

const isoInstant = z.iso.datetime({ offset: true });

const joinWire = z.object({
  schemaVersion: z.literal(JOIN_MATERIAL_SCHEMA_VERSION),
  apiEndpoint: z.string().refine(isHostPort),
  token: z.string().regex(BOOTSTRAP_TOKEN_PATTERN),
  tokenExpiresAt: isoInstant,
  caCertHashes: z.array(z.string().regex(CA_CERT_HASH_PATTERN)).min(1),
  kubernetesVersion: z.string().regex(KUBERNETES_VERSION_PATTERN),
  updatedAt: isoInstant,
});

const controlPlaneWire = z.object({
  schemaVersion: z.literal(JOIN_MATERIAL_SCHEMA_VERSION),
  certificateKey: z.string().regex(CERTIFICATE_KEY_PATTERN),
  certificateKeyExpiresAt: isoInstant,
  updatedAt: isoInstant,
  encryptionKey: z.string().regex(ENCRYPTION_KEY_PATTERN).optional(),
});

const INSTANT = 'an ISO 8601 date-time with an offset (2025-01-31T12:00:00Z)';

const JOIN_EXPECTATIONS: FieldExpectations = {
  schemaVersion: `${JOIN_MATERIAL_SCHEMA_VERSION}`,
  apiEndpoint: 'host:port (a DNS name, IPv4 address or [IPv6] address, and a port 1-65535)',
  token: 'a kubeadm bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})',
  tokenExpiresAt: INSTANT,
  caCertHashes: 'a non-empty list of "sha256:" followed by 64 lowercase hex digits',
  'caCertHashes[]': '"sha256:" followed by 64 lowercase hex digits',
  kubernetesVersion: 'a Kubernetes version (v1.31.2)',
  updatedAt: INSTANT,
};

const CONTROL_PLANE_EXPECTATIONS: FieldExpectations = {
  schemaVersion: `${JOIN_MATERIAL_SCHEMA_VERSION}`,
  certificateKey: 'a kubeadm certificate key (64 lowercase hex digits)',
  certificateKeyExpiresAt: INSTANT,
  updatedAt: INSTANT,
  encryptionKey: 'an encryption at rest key (32 bytes, base64)',
};

function malformed(source: string, problem: string): StateConflictError {
  return new StateConflictError(`${source} is malformed: ${problem}`, {
    hint: "republish it from a control-plane node with 'kboot rotate', or check who else writes this secret",
    details: { source },
  });
}

/** JSON text → object. The parser's own message quotes the input, so it is never passed on. */
function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformed(source, 'it is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw malformed(source, 'it is not a JSON object');
  }
  const version = (raw as Record<string, unknown>).schemaVersion;
  if (typeof version === 'number' && version > JOIN_MATERIAL_SCHEMA_VERSION) {
    throw new StateConflictError(
      `${source} has schemaVersion ${version}, newer than this kboot understands (${JOIN_MATERIAL_SCHEMA_VERSION})`,
      { hint: 'upgrade kboot on this machine (rebuild the AMI) to the version the cluster runs' },
    );
  }
  return raw as Record<string, unknown>;
}

/** Parses the `join` secret's text; `source` names it in errors ("secret kboot/prod/join"). */
export function parseJoinSecret(text: string, source: string): JoinSecret {
  const raw = parseJsonObject(text, source);
  const result = joinWire.safeParse(raw);
  if (!result.success) throw malformed(source, describeIssues(result.error.issues, raw, JOIN_EXPECTATIONS));
  const { token, ...rest } = result.data;
  return { ...rest, token: new Secret(token) };
}

/** Parses the `control-plane` secret's text. */
export function parseControlPlaneSecret(text: string, source: string): ControlPlaneSecret {
  const raw = parseJsonObject(text, source);
  const result = controlPlaneWire.safeParse(raw);
  if (!result.success) {
    throw malformed(source, describeIssues(result.error.issues, raw, CONTROL_PLANE_EXPECTATIONS));
  }
  const { certificateKey, encryptionKey, ...rest } = result.data;
  return {
    ...rest,
    certificateKey: new Secret(certificateKey),
    ...(encryptionKey === undefined ? {} : { encryptionKey: new Secret(encryptionKey) }),
  };
}

/** Material built by kboot itself that fails its own schema is a bug: refuse to publish it. */
function checkBeforePublish(
  schema: z.ZodType,
  wire: Record<string, unknown>,
  expectations: FieldExpectations,
  what: string,
): void {
  const result = schema.safeParse(wire);
  if (!result.success) {
    throw new InternalError(
      `refusing to publish malformed ${what}: ${describeIssues(result.error.issues, wire, expectations)}`,
      { hint: 'this is a bug in kboot; report it with the command that was running' },
    );
  }
}

/** The `join` secret's text (the token revealed: this goes to Secrets Manager only). */
export function serializeJoinSecret(join: JoinSecret): string {
  const wire = {
    schemaVersion: join.schemaVersion,
    apiEndpoint: join.apiEndpoint,
    token: join.token.reveal(),
    tokenExpiresAt: join.tokenExpiresAt,
    caCertHashes: join.caCertHashes,
    kubernetesVersion: join.kubernetesVersion,
    updatedAt: join.updatedAt,
  };
  checkBeforePublish(joinWire, wire, JOIN_EXPECTATIONS, 'join material');
  return JSON.stringify(wire);
}

/** The `control-plane` secret's text (the certificate key revealed). */
export function serializeControlPlaneSecret(controlPlane: ControlPlaneSecret): string {
  const wire = {
    schemaVersion: controlPlane.schemaVersion,
    certificateKey: controlPlane.certificateKey.reveal(),
    certificateKeyExpiresAt: controlPlane.certificateKeyExpiresAt,
    updatedAt: controlPlane.updatedAt,
    ...(controlPlane.encryptionKey === undefined
      ? {}
      : { encryptionKey: controlPlane.encryptionKey.reveal() }),
  };
  checkBeforePublish(controlPlaneWire, wire, CONTROL_PLANE_EXPECTATIONS, 'control-plane material');
  return JSON.stringify(wire);
}
