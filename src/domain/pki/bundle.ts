/**
 * The cluster PKI kept outside etcd (`kboot/<cluster>/pki`, docs/backup.md): the three CAs
 * kubeadm init makes (cluster, front-proxy, etcd; certificate and key) and the service-account key
 * pair. Without them a restored etcd is useless: every certificate and token in it was signed with
 * these keys. Pure: the file list, the secret's JSON, and its checks.
 */

import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import { Secret } from '../../core/secrets.js';

export const PKI_SCHEMA_VERSION = 1;
/** kubeadm's certificatesDir, where init writes these files and recovery puts them back. */
export const PKI_DIR = '/etc/kubernetes/pki';

/** The files of the bundle, relative to PKI_DIR; `.key` files are private. */
export const PKI_FILES = [
  'ca.crt',
  'ca.key',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'etcd/ca.crt',
  'etcd/ca.key',
  'sa.key',
  'sa.pub',
] as const;
export type PkiFile = (typeof PKI_FILES)[number];

/** The certificates whose expiry the bundle records (kubeadm makes its CAs for 10 years). */
const CA_CERTIFICATES: readonly PkiFile[] = ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt'];

const PEM = /^-----BEGIN [A-Z0-9 ]+-----\r?\n[\s\S]+-----END [A-Z0-9 ]+-----\r?\n?$/;

const shape = z
  .object({
    schemaVersion: z.literal(PKI_SCHEMA_VERSION),
    savedAt: z.iso.datetime(),
    savedBy: z.string().min(1),
    /** The earliest notAfter of the three CA certificates. */
    caExpiresAt: z.iso.datetime(),
    files: z.object(
      Object.fromEntries(
        PKI_FILES.map((name) => [name, z.string().regex(PEM, 'expected a PEM block')]),
      ) as Record<PkiFile, z.ZodString>,
    ),
  })
  .strict();

export type PkiBundleData = z.infer<typeof shape>;

/** The bundle; its file contents stay inside a Secret until written to disk. */
export interface PkiBundle {
  savedAt: string;
  savedBy: string;
  caExpiresAt: string;
  files: Secret<Record<PkiFile, string>>;
}

/** The bundle made from the files kubeadm init wrote; `missing` names a file it did not write. */
export function pkiBundle(
  files: Partial<Record<PkiFile, string>>,
  meta: { savedAt: string; savedBy: string },
): PkiBundle {
  const complete = {} as Record<PkiFile, string>;
  for (const name of PKI_FILES) {
    const text = files[name];
    if (text === undefined) {
      throw new StateConflictError(`${PKI_DIR}/${name} is missing: kboot keeps the cluster PKI only whole`, {
        hint: 'kubeadm init writes it; kboot does not support an external CA',
        details: { file: `${PKI_DIR}/${name}` },
      });
    }
    complete[name] = text;
  }
  return { ...meta, caExpiresAt: caExpiry(complete), files: new Secret(complete) };
}

function caExpiry(files: Record<PkiFile, string>): string {
  let earliestMs = Number.POSITIVE_INFINITY;
  for (const name of CA_CERTIFICATES) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(files[name]);
    } catch (error) {
      throw new StateConflictError(`${PKI_DIR}/${name} is not a PEM certificate`, {
        cause: error,
        hint: 'kubeadm init writes it; reset this node and bootstrap again',
      });
    }
    earliestMs = Math.min(earliestMs, Date.parse(certificate.validTo));
  }
  return new Date(earliestMs).toISOString();
}

/** The secret's text (JSON). */
export function serializePkiBundle(bundle: PkiBundle): Secret<string> {
  const data: PkiBundleData = {
    schemaVersion: PKI_SCHEMA_VERSION,
    savedAt: bundle.savedAt,
    savedBy: bundle.savedBy,
    caExpiresAt: bundle.caExpiresAt,
    files: bundle.files.reveal(),
  };
  return new Secret(JSON.stringify(data));
}

/** Reads the secret's text, naming the bad field (never a value) when it is malformed. */
export function parsePkiBundle(text: string, source: string): PkiBundle {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformed(source, 'not JSON');
  }
  const parsed = shape.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(secret)'}: ${issue.message}`,
    );
    throw malformed(source, fields.join('; '));
  }
  const { savedAt, savedBy, caExpiresAt, files } = parsed.data;
  return { savedAt, savedBy, caExpiresAt, files: new Secret(files) };
}

function malformed(source: string, problem: string): StateConflictError {
  return new StateConflictError(`${source} is not a cluster PKI bundle kboot wrote: ${problem}`, {
    hint: 'it is written by the first control-plane instance after kubeadm init; check who else writes this secret',
  });
}
