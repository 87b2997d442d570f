/** What the rotate flow's steps share: its state, its step type, its result and how it ends early. */

import type { CleanupReport } from '../../cleanup/run.js';
import type { Step } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';
import type { RenewReason, RotationPlan } from '../rotate-plan.js';
import type { StartState } from '../start-steps.js';
import type { CertificatesReport, CertificatesState } from './certificates.js';
import type { CurrentMaterial } from './material.js';
import type { RotateOptions, Rotation } from './rotation.js';

export type RotateOutcome = 'rotated' | 'fresh' | 'planned' | 'not-member' | 'busy';

export interface MaterialReport {
  action: 'renewed' | 'kept' | 'would-renew';
  /** Why it was (or would be) renewed; null when kept. */
  reason: RenewReason | null;
  /** When the material published now expires (the new one when renewed). */
  expiresAt: string | null;
  /** When the material found at the start expires; null when it was missing or unreadable. */
  previousExpiresAt: string | null;
}

export interface TokenReport extends MaterialReport {
  /** The public id of the published token (the part before the dot; not secret). */
  tokenId: string | null;
}

export interface RotateResult {
  flow: 'rotate';
  outcome: RotateOutcome;
  cluster: string;
  role: string;
  instanceId: string;
  /** What the outcome means, one line. */
  summary: string;
  token: TokenReport | null;
  certificateKey: MaterialReport | null;
  /** Ids of expired kboot tokens deleted (or, in a dry run, that would be). */
  deletedTokenIds: string[];
  /** The master holding the rotate lease, when outcome is busy. */
  heldBy: string | null;
  /** The cleanup of lost instances that ran after the rotation (null: did not run). */
  cleanup: CleanupReport | null;
  /** This member's kubeadm certificates (null: not checked, or none kubeadm can renew). */
  certificates: CertificatesReport | null;
  /** The published admin.conf (null: not checked: not a member, or another master rotates). */
  adminConf: AdminConfReport | null;
}

export interface AdminConfReport {
  /** not-republished: due, but this member's admin.conf is missing or no fresher. */
  action: 'republished' | 'kept' | 'would-republish' | 'not-republished';
  /** Why it was (or would be, or could not be) republished; null when kept. */
  reason: string | null;
  /** When the admin.conf published after the run expires (null: unknown, or none embedded). */
  expiresAt: string | null;
  /** When the one found at the start expires (null: missing, unreadable or none embedded). */
  previousExpiresAt: string | null;
  /** Where previousExpiresAt came from: the record's stamp, or a read of the secret. */
  checkedFrom: 'record' | 'secret';
}

export interface AdminConfCheck {
  /** present: its client certificate's notAfter (null: none embedded, nothing to judge). */
  state: 'present' | 'missing' | 'unreadable';
  expiresAtMs: number | null;
  /** Republish: missing, unreadable, or fewer than the renewal window left. */
  due: boolean;
  /** Where the expiry came from: the record's stamp (no secret read) or the secret itself. */
  source: 'record' | 'secret';
}

export interface AdminConfState {
  publishedAdminConf: AdminConfCheck;
  /** What publish-admin-conf published (its client certificate's notAfter). */
  republishedAdminConf: { expiresAt: string | null };
  /** Why publish-admin-conf, due, did not publish. */
  adminConfNotRepublished: string;
}

export interface RotateState extends StartState, CertificatesState, AdminConfState {
  options: RotateOptions;
  rotation: Rotation;
  current: CurrentMaterial;
  plan: RotationPlan;
  /** The token and key published when the run ends (the renewed ones, else the current ones). */
  tokenExpiresAt: string | undefined;
  certificateKeyExpiresAt: string | undefined;
  renewedToken: { tokenId: string; expiresAt: string };
  renewedCertificateKey: { expiresAt: string };
  /** Expired kboot tokens found (to delete), then deleted. */
  expiredTokenIds: string[];
  deletedTokenIds: string[];
  heldBy: string;
  /** What a cleanup would remove; null when it could not tell. */
  cleanupPlan: CleanupReport | null;
  cleanup: CleanupReport | null;
}

export type RotateStep = Step<RotateState, FlowDeps>;

export const NOT_MEMBER = 'this instance has not joined the cluster yet; nothing to rotate';
export const BUSY = 'another master holds the rotate lease';
