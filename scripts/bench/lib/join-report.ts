/** Text for the join sections: table rows of timings and a line of per-join call counts. */

import { describeOperations, type JoinSample } from './join-measure.js';
import type { Summary } from './stats.js';

const ms = (value: number): string => value.toFixed(1);

/** [label, median, p90, min, max] in milliseconds; dashes when there is nothing to show. */
export function msRow(label: string, summary: Summary | undefined): string[] {
  if (summary === undefined) return [label, '-', '-', '-', '-'];
  return [label, ms(summary.median), ms(summary.p90), ms(summary.min), ms(summary.max)];
}

function range(values: readonly number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}-${high}`;
}

/** "per join (kboot): 6 IMDS requests, 2 AWS API calls (dynamodb GetItem 1, …)". */
export function describeCounts(samples: readonly JoinSample[], label = 'per join'): string {
  const imds = range(samples.map((sample) => sample.imdsRequests));
  const aws = range(samples.map((sample) => sample.awsCalls));
  return `${label}: ${imds} IMDS requests, ${aws} AWS API calls (${describeOperations(samples)})`;
}
