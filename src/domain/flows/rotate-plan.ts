/**
 * The decisions of `kboot rotate`, pure: given the join material as it is now and the policy,
 * what to renew and which bootstrap tokens to delete. No I/O; the flow (rotate.ts) acts on them.
 *  - the bootstrap token is renewed when it is missing, unreadable, or has less than
 *    `tokenRenewBeforeMs` of life left (the previous token is never deleted early: a joiner that
 *    read it a moment ago must still succeed);
 *  - the certificate key is renewed (the control-plane certificates re-uploaded under a new key)
 *    when it is missing, unreadable, or has less than `certificateKeyRenewBeforeMs` left of the
 *    two hours kubeadm keeps uploaded certificates;
 *  - expired tokens kboot created (description starting with "kboot:") are deleted, by id.
 */

import { formatDurationMs, parseDurationMs } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { ROTATE_DEFAULTS } from '../config/defaults.js';
import type { ListedToken } from '../kubeadm/token-list.js';
import { UPLOADED_CERTS_LIFETIME_MS } from './bootstrap-master/publish.js';

/** Every bootstrap token kboot creates has a description starting with this. */
export const KBOOT_TOKEN_DESCRIPTION_PREFIX = 'kboot:';

export const DEFAULT_TOKEN_TTL_MS = parseDurationMs(ROTATE_DEFAULTS.tokenTtl);
export const DEFAULT_TOKEN_RENEW_BEFORE_MS = parseDurationMs(ROTATE_DEFAULTS.renewBefore);
export const DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS = parseDurationMs(
  ROTATE_DEFAULTS.certificateKeyRenewBefore,
);

export interface RotatePolicy {
  /** Lifetime of a new bootstrap token (`--token-ttl`); finite and positive. */
  tokenTtlMs: number;
  /** Renew the token when it has less life left than this (`--renew-before`). */
  tokenRenewBeforeMs: number;
  /** Re-upload the certificates when the key has less life left than this. */
  certificateKeyRenewBeforeMs: number;
}

/** Join material as read from Secrets Manager: its expiry, or why there is none to trust. */
export type CurrentExpiry =
  | { state: 'present'; expiresAtMs: number }
  | { state: 'missing' }
  | { state: 'unreadable' }
  /** The join secret's CA hashes do not match this master's ca.crt: joiners would refuse the API server. */
  | { state: 'ca-mismatch' };

export type RenewReason = 'missing' | 'unreadable' | 'ca-mismatch' | 'expired' | 'expiring';

export type RenewDecision =
  | { renew: false; expiresAtMs: number; remainingMs: number }
  | { renew: true; reason: RenewReason; expiresAtMs: number | undefined; remainingMs: number | undefined };

/** Refuses a policy that cannot keep material fresh (a usage error: the flags are wrong). */
export function checkRotatePolicy(policy: RotatePolicy): void {
  const positive = (valueMs: number, flag: string): void => {
    if (!Number.isFinite(valueMs) || valueMs <= 0) {
      throw new UsageError(`${flag} must be a positive duration`, {
        hint: `give ${flag} a duration such as 8h (kboot never creates tokens that do not expire)`,
      });
    }
  };
  positive(policy.tokenTtlMs, '--token-ttl');
  positive(policy.tokenRenewBeforeMs, '--renew-before');
  positive(policy.certificateKeyRenewBeforeMs, '--certificate-key-renew-before');
  if (policy.tokenRenewBeforeMs >= policy.tokenTtlMs) {
    throw new UsageError(
      `--renew-before (${formatDurationMs(policy.tokenRenewBeforeMs)}) must be shorter than --token-ttl (${formatDurationMs(policy.tokenTtlMs)})`,
      {
        hint: `otherwise every run creates a new token; the defaults are --token-ttl ${ROTATE_DEFAULTS.tokenTtl} --renew-before ${ROTATE_DEFAULTS.renewBefore}`,
      },
    );
  }
  if (policy.certificateKeyRenewBeforeMs >= UPLOADED_CERTS_LIFETIME_MS) {
    throw new UsageError(
      `--certificate-key-renew-before (${formatDurationMs(policy.certificateKeyRenewBeforeMs)}) must be shorter than the ${formatDurationMs(UPLOADED_CERTS_LIFETIME_MS)} kubeadm keeps uploaded certificates`,
      {
        hint: `use the default ${ROTATE_DEFAULTS.certificateKeyRenewBefore}, and run kboot rotate more often than that (every 15 minutes)`,
      },
    );
  }
}

/** Whether material with this expiry must be renewed now. */
export function decideRenewal(current: CurrentExpiry, nowMs: number, renewBeforeMs: number): RenewDecision {
  if (current.state !== 'present') {
    return { renew: true, reason: current.state, expiresAtMs: undefined, remainingMs: undefined };
  }
  const remainingMs = current.expiresAtMs - nowMs;
  if (remainingMs <= 0) {
    return { renew: true, reason: 'expired', expiresAtMs: current.expiresAtMs, remainingMs };
  }
  if (remainingMs < renewBeforeMs) {
    return { renew: true, reason: 'expiring', expiresAtMs: current.expiresAtMs, remainingMs };
  }
  return { renew: false, expiresAtMs: current.expiresAtMs, remainingMs };
}

export interface RotationPlan {
  token: RenewDecision;
  certificateKey: RenewDecision;
}

export function planRotation(
  current: { token: CurrentExpiry; certificateKey: CurrentExpiry },
  nowMs: number,
  policy: RotatePolicy,
): RotationPlan {
  return {
    token: decideRenewal(current.token, nowMs, policy.tokenRenewBeforeMs),
    certificateKey: decideRenewal(current.certificateKey, nowMs, policy.certificateKeyRenewBeforeMs),
  };
}

/**
 * Can a joining master be using the current certificate key right now? Only while the key has
 * life left: once it expired (or was never readable), kubeadm has deleted the certificates it
 * guards, so re-uploading cannot break a join in progress and needs no coordination.
 */
export function keyMayBeInUse(decision: RenewDecision): boolean {
  return decision.remainingMs !== undefined && decision.remainingMs > 0;
}

/**
 * The ids of tokens to delete: created by kboot, and expired at nowMs. Tokens without an expiry,
 * tokens of others (kubeadm's own, the upload-certs proxy token, an operator's) and the ids in
 * `keepIds` (the tokens just published) are never touched.
 */
export function expiredKbootTokenIds(
  tokens: readonly ListedToken[],
  nowMs: number,
  keepIds: readonly string[] = [],
): string[] {
  const keep = new Set(keepIds);
  return tokens
    .filter(
      (token) =>
        token.description?.startsWith(KBOOT_TOKEN_DESCRIPTION_PREFIX) === true &&
        token.expiresAtMs !== undefined &&
        token.expiresAtMs <= nowMs &&
        !keep.has(token.id),
    )
    .map((token) => token.id);
}

/** "expires in 5h (renew when under 8h)", "expired 2h ago", "is missing", for logs and plans. */
export function describeDecision(decision: RenewDecision, renewBeforeMs: number): string {
  if (decision.remainingMs === undefined) {
    if (decision.renew && decision.reason === 'ca-mismatch') return "does not match this master's ca.crt";
    return decision.renew && decision.reason === 'unreadable' ? 'is unreadable' : 'is missing';
  }
  if (decision.remainingMs <= 0) return `expired ${formatDurationMs(-decision.remainingMs)} ago`;
  const left = `expires in ${formatDurationMs(decision.remainingMs)}`;
  return decision.renew
    ? `${left}, under the ${formatDurationMs(renewBeforeMs)} threshold`
    : `${left}, above the ${formatDurationMs(renewBeforeMs)} threshold`;
}
