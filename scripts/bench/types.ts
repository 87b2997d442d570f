/** What a benchmark section is: `npm run bench` runs each in turn (see scripts/bench/run.ts). */

export interface BenchContext {
  repoRoot: string;
  /** The single executable under test (dist/kboot unless --binary). */
  binary: string;
  runs: number;
  warmups: number;
  /** GNU time for peak RSS, when installed. */
  gnuTime: string | undefined;
  log(line: string): void;
}

export interface SectionResult {
  /** Human-readable report (a table and a verdict), printed as is. */
  text: string;
  /** Written to bench-results/*.json under the section's name. */
  data: Record<string, unknown>;
}

export interface BenchSection {
  /** Short id: the --only value and the key in the JSON results. */
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}
