/** What `kboot rotate` reports about the published admin.conf (admin-conf.ts): republished or not, why, and when it expires. */

import type { FlowState } from '../../steps/state.js';
import { iso } from './rotation.js';
import type { AdminConfCheck, AdminConfReport, RotateState } from './types.js';

function dueReason(check: AdminConfCheck, certificatesRenewed: boolean): string | null {
  if (certificatesRenewed) return "this member's certificates are renewed this run";
  if (!check.due) return null;
  if (check.state !== 'present') return `the published admin.conf is ${check.state}`;
  return 'its client certificate has fewer than 30 days left';
}

/** Null when the run never checked it (not a member, another master rotates). */
export function adminConfReport(state: FlowState<RotateState>, dryRun: boolean): AdminConfReport | null {
  const check = state.peek('publishedAdminConf');
  if (check === undefined) return null;
  const previousExpiresAt = check.expiresAtMs === null ? null : iso(check.expiresAtMs);
  const reason = dueReason(check, state.peek('certificates')?.due === true);
  const base = { previousExpiresAt, checkedFrom: check.source };
  if (reason === null) return { ...base, action: 'kept', reason: null, expiresAt: previousExpiresAt };
  if (dryRun) return { ...base, action: 'would-republish', reason, expiresAt: null };
  const republished = state.peek('republishedAdminConf');
  if (republished !== undefined) {
    return { ...base, action: 'republished', reason, expiresAt: republished.expiresAt };
  }
  return {
    ...base,
    action: 'not-republished',
    reason: `${reason}, but ${state.peek('adminConfNotRepublished') ?? 'the run stopped before publishing it'}`,
    expiresAt: previousExpiresAt,
  };
}
