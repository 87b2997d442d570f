/** What a rotate run reports: per material, renewed, kept or would-renew, and why; the summary. */

import { tokenId } from '../../kubeadm/tokens.js';
import { leaseLabel } from '../../state/lease.js';
import type { FlowState } from '../../steps/state.js';
import type { RenewDecision } from '../rotate-plan.js';
import { adminConfReport } from './admin-conf-report.js';
import { certificatesReport } from './certificates.js';
import { iso } from './rotation.js';
import {
  BUSY,
  type MaterialReport,
  NOT_MEMBER,
  type RotateResult,
  type RotateState,
  type TokenReport,
} from './types.js';

export function expiresAtOf(decision: RenewDecision): string | undefined {
  return decision.expiresAtMs === undefined ? undefined : iso(decision.expiresAtMs);
}

function keptReport(decision: RenewDecision): MaterialReport {
  const expiresAt = expiresAtOf(decision) ?? null;
  return { action: 'kept', reason: null, expiresAt, previousExpiresAt: expiresAt };
}

function materialReport(
  decision: RenewDecision,
  renewedExpiresAt: string | undefined,
  dryRun: boolean,
): MaterialReport {
  if (!decision.renew) return keptReport(decision);
  if (dryRun)
    return { ...keptReport(decision), action: 'would-renew', reason: decision.reason, expiresAt: null };
  return {
    action: 'renewed',
    reason: decision.reason,
    expiresAt: renewedExpiresAt ?? null,
    previousExpiresAt: expiresAtOf(decision) ?? null,
  };
}

export function rotateResult(
  state: FlowState<RotateState>,
  run: { dryRun: boolean; ended: string | undefined },
): RotateResult {
  const identity = state.get('identity');
  const cluster = identity.clusterName;
  const base = {
    flow: 'rotate' as const,
    cluster,
    role: identity.role,
    instanceId: identity.instance.instanceId,
    token: null,
    certificateKey: null,
    deletedTokenIds: [],
    heldBy: null,
    cleanup: state.peek('cleanup') ?? null,
    certificates: certificatesReport(state, run.dryRun),
    adminConf: adminConfReport(state, run.dryRun),
  };
  if (run.ended === NOT_MEMBER) {
    return {
      ...base,
      outcome: 'not-member',
      summary: `nothing to rotate: this instance has not joined cluster ${cluster}`,
    };
  }
  if (run.ended === BUSY) {
    const heldBy = state.get('heldBy');
    return {
      ...base,
      outcome: 'busy',
      heldBy,
      summary: `nothing to do: ${heldBy} holds the ${leaseLabel(cluster, 'rotate')} and is rotating its join material`,
    };
  }
  const plan = state.get('plan');
  const current = state.get('current');
  const renewedToken = state.peek('renewedToken');
  const tokenReport: TokenReport = {
    ...materialReport(plan.token, renewedToken?.expiresAt, run.dryRun),
    tokenId:
      renewedToken?.tokenId ?? (current.join.state === 'present' ? tokenId(current.join.value.token) : null),
  };
  const keyReport = materialReport(
    plan.certificateKey,
    state.peek('renewedCertificateKey')?.expiresAt,
    run.dryRun,
  );
  const deletedTokenIds = run.dryRun
    ? (state.peek('expiredTokenIds') ?? [])
    : (state.peek('deletedTokenIds') ?? []);
  const reports = { token: tokenReport, certificateKey: keyReport, deletedTokenIds };
  if (run.dryRun) {
    const nothing = !plan.token.renew && !plan.certificateKey.renew && deletedTokenIds.length === 0;
    return {
      ...base,
      ...reports,
      outcome: 'planned',
      summary: nothing
        ? `dry run: join material of cluster ${cluster} is fresh; nothing would change`
        : 'dry run: nothing changed',
    };
  }
  const tokenExpiresAt = state.peek('tokenExpiresAt');
  const certificateKeyExpiresAt = state.peek('certificateKeyExpiresAt');
  const renewedParts = [
    ...(plan.token.renew ? [`the bootstrap token (expires ${tokenExpiresAt})`] : []),
    ...(plan.certificateKey.renew ? [`the certificate key (expires ${certificateKeyExpiresAt})`] : []),
  ];
  const renewedCertificates = base.certificates?.action === 'renewed' ? base.certificates : undefined;
  const certificatesPart =
    renewedCertificates === undefined
      ? ''
      : `${renewedParts.length === 0 ? '' : '; '}renewed this member's kubeadm certificates (they expire ${renewedCertificates.expiresAt})`;
  if (renewedParts.length === 0 && renewedCertificates !== undefined) {
    return {
      ...base,
      ...reports,
      outcome: 'rotated',
      summary: `join material of cluster ${cluster} is fresh; ${certificatesPart}`,
    };
  }
  if (renewedParts.length === 0) {
    return {
      ...base,
      ...reports,
      outcome: 'fresh',
      summary: `join material of cluster ${cluster} is fresh (token expires ${tokenExpiresAt}, certificate key ${certificateKeyExpiresAt}); nothing renewed`,
    };
  }
  return {
    ...base,
    ...reports,
    outcome: 'rotated',
    summary: `renewed ${renewedParts.join(' and ')} of cluster ${cluster}${
      deletedTokenIds.length === 0 ? '' : `; deleted ${deletedTokenIds.length} expired kboot token(s)`
    }${certificatesPart}`,
  };
}
