/**
 * Is join material still usable? A bootstrap token or certificate key that lapses while kubeadm
 * runs makes the join fail half-way, so "usable" means "valid for at least minRemainingMs more".
 * The caller decides what to do with an answer other than fresh (wait for `kboot rotate`, or
 * rotate itself on a master).
 */

import type { ControlPlaneSecret, JoinSecret } from './material.js';

export type FreshnessState = 'fresh' | 'expiring' | 'expired';

export interface Freshness {
  state: FreshnessState;
  expiresAtMs: number;
  /** expiresAtMs − nowMs; zero or negative once expired. */
  remainingMs: number;
}

export function checkFresh(expiresAtMs: number, nowMs: number, minRemainingMs: number): Freshness {
  const remainingMs = expiresAtMs - nowMs;
  const state: FreshnessState =
    remainingMs <= 0 ? 'expired' : remainingMs < minRemainingMs ? 'expiring' : 'fresh';
  return { state, expiresAtMs, remainingMs };
}

/** The bootstrap token's freshness. */
export function checkJoinFresh(
  join: Pick<JoinSecret, 'tokenExpiresAt'>,
  nowMs: number,
  minRemainingMs: number,
): Freshness {
  return checkFresh(Date.parse(join.tokenExpiresAt), nowMs, minRemainingMs);
}

/** The certificate key's freshness (kubeadm deletes the uploaded certs when it lapses). */
export function checkCertificateKeyFresh(
  controlPlane: Pick<ControlPlaneSecret, 'certificateKeyExpiresAt'>,
  nowMs: number,
  minRemainingMs: number,
): Freshness {
  return checkFresh(Date.parse(controlPlane.certificateKeyExpiresAt), nowMs, minRemainingMs);
}
