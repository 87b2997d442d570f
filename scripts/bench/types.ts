/** What a benchmark section is: `npm run bench` runs each in turn (see scripts/bench/run.ts). */

export interface BenchOptions {
  /** Measured worker joins per tool (worker-join, aws-cli-join). */
  joinRuns: number;
  /** Unmeasured joins before them. */
  joinWarmups: number;
  /** Worker counts for the convergence section, each booted with `controlPlanes` masters. */
  sizes: number[];
  controlPlanes: number;
  /** FAKE_KUBEADM_SLEEP_MS for the convergence runs ("init=2000,join=1000"). */
  kubeadmSleep: string;
  /** KBOOT_POLL_MS for the convergence runs (kboot's own default: 3000). */
  pollMs: number;
  /** --wait-timeout for the convergence runs (a kboot duration, e.g. "10m"). */
  waitTimeout: string;
  /** etcd-snapshot: MiB of values written to etcd, and measured runs. */
  snapshotMb: number;
  snapshotRuns: number;
}

export interface BenchContext {
  repoRoot: string;
  /** The single executable under test (dist/kboot unless --binary). */
  binary: string;
  runs: number;
  warmups: number;
  /** GNU time for peak RSS, when installed. */
  gnuTime: string | undefined;
  options: BenchOptions;
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
