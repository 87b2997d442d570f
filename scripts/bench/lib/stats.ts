/** Summary statistics of a sample (pure; nearest-rank percentiles). */

export interface Summary {
  count: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** The p-th percentile (0..100) by nearest rank over an ascending-sorted sample. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (p <= 0) return sorted[0] as number;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** The median; the mean of the two middle values for an even count. */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new RangeError('median of an empty sample');
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: median(sorted),
    p90: percentile(sorted, 90),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(sorted.length, 1),
  };
}
