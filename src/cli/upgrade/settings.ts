/**
 * The roll's timings: defaults for a real cluster, each overridable by an environment variable
 * (whole milliseconds, checked) so tests and unusual clusters can shorten or lengthen them.
 */

import os from 'node:os';
import { UsageError } from '../../core/errors.js';
import type { RollSettings } from '../../domain/upgrade/roll-ports.js';

const MINUTE_MS = 60_000;

/** name → [default, min, max] */
const TIMINGS = {
  KBOOT_UPGRADE_LEASE_MS: [2 * MINUTE_MS, 1_000, 60 * MINUTE_MS],
  KBOOT_POLL_MS: [5_000, 10, 60_000],
  /** An instance boots, kubeadm joins (a control plane: its turn at the join lease too). */
  KBOOT_UPGRADE_JOIN_TIMEOUT_MS: [20 * MINUTE_MS, 100, 120 * MINUTE_MS],
  KBOOT_UPGRADE_GATE_TIMEOUT_MS: [10 * MINUTE_MS, 10, 120 * MINUTE_MS],
  /** The lifecycle hook's heartbeat timeout (kboot leave drains within it), with room. */
  KBOOT_UPGRADE_LEAVE_TIMEOUT_MS: [20 * MINUTE_MS, 100, 120 * MINUTE_MS],
} as const;

function timing(env: NodeJS.ProcessEnv, name: keyof typeof TIMINGS): number {
  const [fallback, min, max] = TIMINGS[name];
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${name} must be a whole number of milliseconds from ${min} to ${max}, got "${text.slice(0, 20)}"`,
      {
        hint: `unset ${name} or set it within the bounds`,
      },
    );
  }
  return value;
}

export function rollSettings(cluster: string, env: NodeJS.ProcessEnv): RollSettings {
  return {
    cluster,
    owner: `${os.userInfo().username}@${os.hostname()}`,
    leaseMs: timing(env, 'KBOOT_UPGRADE_LEASE_MS'),
    pollMs: timing(env, 'KBOOT_POLL_MS'),
    joinTimeoutMs: timing(env, 'KBOOT_UPGRADE_JOIN_TIMEOUT_MS'),
    gateTimeoutMs: timing(env, 'KBOOT_UPGRADE_GATE_TIMEOUT_MS'),
    leaveTimeoutMs: timing(env, 'KBOOT_UPGRADE_LEAVE_TIMEOUT_MS'),
  };
}
