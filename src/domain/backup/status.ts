/**
 * The etcd snapshot line of `kboot status`: the newest snapshot's age, size and revision, how
 * many are kept, and whether it is stale (older than 3 intervals of the timer that took it).
 * Pure: the records (or why they could not be read) and "now" in, the view and its text out.
 */

import { formatDurationMs } from '../../core/duration.js';
import { STALE_INTERVALS } from './settings.js';
import type { SnapshotRecord } from './snapshot-record.js';

export type SnapshotStatusView =
  | { state: 'none'; count: 0 }
  | { state: 'unreadable'; error: string }
  | {
      state: 'fresh' | 'stale';
      count: number;
      latest: {
        key: string;
        bucket: string;
        takenAt: string;
        ageMs: number;
        sizeBytes: number;
        revision: number;
        sha256: string;
      };
      /** Older than this is stale: 3 intervals of the timer that took the newest. */
      staleAfterMs: number;
    };

export function snapshotStatusView(
  records: readonly SnapshotRecord[] | Error,
  nowMs: number,
): SnapshotStatusView {
  if (records instanceof Error) return { state: 'unreadable', error: records.message };
  const latest = [...records].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt))[0];
  if (latest === undefined) return { state: 'none', count: 0 };
  const ageMs = nowMs - Date.parse(latest.takenAt);
  const staleAfterMs = STALE_INTERVALS * latest.intervalMs;
  return {
    state: ageMs > staleAfterMs ? 'stale' : 'fresh',
    count: records.length,
    latest: {
      key: latest.key,
      bucket: latest.bucket,
      takenAt: latest.takenAt,
      ageMs,
      sizeBytes: latest.sizeBytes,
      revision: latest.revision,
      sha256: latest.sha256,
    },
    staleAfterMs,
  };
}

function size(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function age(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes === 0 ? 'just now' : `${formatDurationMs(minutes * 60_000)} ago`;
}

export function snapshotStatusLine(view: SnapshotStatusView): string {
  switch (view.state) {
    case 'none':
      return 'none recorded';
    case 'unreadable':
      return `unreadable: ${view.error}`;
    case 'fresh':
    case 'stale': {
      const { latest } = view;
      const text = `latest ${age(latest.ageMs)} (${latest.takenAt}), ${size(latest.sizeBytes)}, revision ${latest.revision}; ${view.count} kept in s3://${latest.bucket}`;
      return view.state === 'stale'
        ? `STALE: ${text} (older than ${formatDurationMs(view.staleAfterMs)}, 3 timer intervals)`
        : text;
    }
  }
}
