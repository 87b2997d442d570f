/**
 * Reads `kubeadm certs check-expiration -o json`: one object of kind CertificateExpirationInfo
 * (output.kubeadm.k8s.io/v1alpha3, cmd/kubeadm/app/apis/output/v1alpha3/types.go) with
 * `certificates` (the leaf certificates and the kubeconfig files' client certificates that
 * `kubeadm certs renew all` renews) and `certificateAuthorities` (which it never renews). Each
 * entry: `name`, `expirationDate` (RFC 3339), `residualTime` (seconds), `externallyManaged`,
 * `caName`, `missing`.
 *
 * kubeadm may print a line or two before the object ("[check-expiration] Reading configuration
 * from the cluster..."), so the object is read from the first line that starts with `{`.
 */

import { z } from 'zod';
import { KubeadmError } from '../../core/errors.js';

const certificateShape = z.object({
  name: z.string().min(1),
  expirationDate: z.string(),
  externallyManaged: z.boolean().optional(),
  caName: z.string().optional(),
  missing: z.boolean().optional(),
});

const infoShape = z.object({
  kind: z.literal('CertificateExpirationInfo'),
  certificates: z.array(certificateShape).nullable().optional(),
  certificateAuthorities: z.array(certificateShape).nullable().optional(),
});

export interface CertificateExpiry {
  readonly name: string;
  /** Undefined when the certificate is missing (kubeadm prints a zero time for it). */
  readonly expiresAtMs: number | undefined;
  readonly externallyManaged: boolean;
  readonly missing: boolean;
}

export interface CertificateExpirations {
  readonly certificates: readonly CertificateExpiry[];
  readonly authorities: readonly CertificateExpiry[];
}

function fail(why: string, cause?: unknown): KubeadmError {
  return new KubeadmError(`could not read "kubeadm certs check-expiration -o json": ${why}`, {
    cause,
    hint: 'check the kubeadm binary on this image; its output format may have changed',
  });
}

function expiry(entry: z.infer<typeof certificateShape>, index: number, list: string): CertificateExpiry {
  const missing = entry.missing === true;
  const parsedMs = Date.parse(entry.expirationDate);
  if (!missing && !Number.isFinite(parsedMs)) {
    throw fail(
      `${list}[${index}] (${entry.name}): expirationDate "${entry.expirationDate.slice(0, 40)}" is not a time`,
    );
  }
  return {
    name: entry.name,
    expiresAtMs: missing ? undefined : parsedMs,
    externallyManaged: entry.externallyManaged === true,
    missing,
  };
}

export function parseCertificateExpirations(stdout: string): CertificateExpirations {
  const start = stdout.search(/^\{/m);
  if (start < 0) throw fail('the output has no JSON object');
  let value: unknown;
  try {
    value = JSON.parse(stdout.slice(start));
  } catch (error) {
    throw fail('the output is not JSON', error);
  }
  const parsed = infoShape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return {
    certificates: (parsed.data.certificates ?? []).map((entry, index) =>
      expiry(entry, index, 'certificates'),
    ),
    authorities: (parsed.data.certificateAuthorities ?? []).map((entry, index) =>
      expiry(entry, index, 'certificateAuthorities'),
    ),
  };
}

/**
 * The first of the certificates `kubeadm certs renew all` can renew to expire: present and not
 * externally managed (an external CA signs those; kubeadm prints "can't be renewed"). Undefined
 * when there is none (an external-CA cluster, or no PKI at all).
 */
export function firstToExpire(
  expirations: CertificateExpirations,
): { name: string; expiresAtMs: number } | undefined {
  let first: { name: string; expiresAtMs: number } | undefined;
  for (const cert of expirations.certificates) {
    if (cert.missing || cert.externallyManaged || cert.expiresAtMs === undefined) continue;
    if (first === undefined || cert.expiresAtMs < first.expiresAtMs) {
      first = { name: cert.name, expiresAtMs: cert.expiresAtMs };
    }
  }
  return first;
}

/** kubeadm's certificates live a year; renew them with fewer than 30 days left. */
export const CERTIFICATES_RENEW_BEFORE_MS = 30 * 24 * 3_600_000;

/** Whether certificates that expire at `expiresAtMs` are due for renewal at `nowMs`. */
export function certificatesDue(
  expiresAtMs: number,
  nowMs: number,
  renewBeforeMs = CERTIFICATES_RENEW_BEFORE_MS,
): boolean {
  return expiresAtMs - nowMs < renewBeforeMs;
}
