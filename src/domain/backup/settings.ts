/**
 * How `kboot etcd snapshot` runs: the node config's `backup` section (bucket, interval,
 * retention) with its defaults, and the options the flow gets.
 */

import { z } from 'zod';
import { DEFAULT_RETENTION, type RetentionPolicy } from './retention.js';

/** kboot-etcd-snapshot.timer fires every 15 minutes; status warns past 3 intervals. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 15 * 60_000;
/** The snapshot lease (renewed every third of it while streaming). */
export const DEFAULT_SNAPSHOT_LEASE_MS = 2 * 60_000;
/** A snapshot older than this many intervals is stale (kboot status warns). */
export const STALE_INTERVALS = 3;

const days = (max: number) =>
  z
    .int()
    .min(0, { message: 'expected 0 or more' })
    .max(max, { message: `expected at most ${max}` });

export const BackupConfigSchema = z.strictObject({
  /** The S3 bucket of the cluster's etcd snapshots (kboot cluster create makes it). */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      message: 'expected an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens',
    })
    .optional(),
  /** How often the timer runs (kboot-etcd-snapshot.timer; say the same here): 5m to 24h. */
  intervalMinutes: z
    .int()
    .min(5, { message: 'expected at least 5' })
    .max(1440, { message: 'expected at most 1440' })
    .optional(),
  retention: z
    .strictObject({
      allForHours: days(24 * 365).optional(),
      hourlyForDays: days(3650).optional(),
      dailyForDays: days(36500).optional(),
    })
    .optional(),
});

export type BackupConfig = z.infer<typeof BackupConfigSchema>;

export interface SnapshotOptions {
  /** Undefined: no bucket configured, the flow does nothing. */
  bucket: string | undefined;
  intervalMs: number;
  retention: RetentionPolicy;
  leaseMs: number;
  /** Take a snapshot even if another member took one less than half an interval ago. */
  force: boolean;
}

export function snapshotOptions(
  config: BackupConfig | undefined,
  overrides: { bucket?: string; force?: boolean; leaseMs?: number },
): SnapshotOptions {
  return {
    bucket: overrides.bucket ?? config?.bucket,
    intervalMs:
      config?.intervalMinutes === undefined ? DEFAULT_SNAPSHOT_INTERVAL_MS : config.intervalMinutes * 60_000,
    retention: { ...DEFAULT_RETENTION, ...config?.retention },
    leaseMs: overrides.leaseMs ?? DEFAULT_SNAPSHOT_LEASE_MS,
    force: overrides.force === true,
  };
}
