/**
 * Durations as Go's `time.Duration.String()` prints them, which is how kubeadm's config
 * (`metav1.Duration`) writes them: `24h0m0s`, `4m0s`, `1m30s`, `1.5s`, `500ms`, `0s`.
 */

export function formatGoDuration(durationMs: number): string {
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`a duration must be a non-negative number of milliseconds, got ${durationMs}`);
  }
  const totalMs = Math.round(durationMs);
  if (totalMs === 0) return '0s';
  if (totalMs < 1000) return `${totalMs}ms`;
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const wholeSeconds = Math.floor((totalMs % 60_000) / 1000);
  const fractionMs = totalMs % 1000;
  const seconds =
    fractionMs === 0
      ? `${wholeSeconds}`
      : `${wholeSeconds}.${String(fractionMs).padStart(3, '0').replace(/0+$/, '')}`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
