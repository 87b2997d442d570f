/**
 * The one shape of every kboot flow (DESIGN.md "Flows"): a list of named steps run by one runner
 * (runner.ts). A step says whether it only reads or changes the node, the cluster or AWS; what it
 * would do, for `--dry-run` (from the same list: nothing is planned by hand); and, when it changes
 * something, how to undo or make safe what it did. The runner times each step, records which one
 * failed, and on a failure, SIGTERM/SIGINT or a lost lease runs the undo chain in reverse order,
 * bounded in time.
 *
 * Steps share what they learn through the flow's state (state.ts): a step `set`s what later steps
 * `get`. Steps are plain objects of a flow module's exported list, so the list can be read
 * (names, kinds, undos) without running it.
 */

import type { Clock } from '../../core/clock.js';
import type { KbootError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { FlowState } from './state.js';

/** `read`: only looks at the world, and runs in a dry run. `change`: planned, not run, in a dry run. */
export type StepKind = 'read' | 'change';

/** A file a change step would write, as `--dry-run` shows it (secrets redacted). */
export interface PlannedFile {
  path: string;
  content: string;
}

/** What a dry run would do at one step. */
export interface PlannedStep {
  step: string;
  description: string;
  files?: PlannedFile[];
}

/** Why the flow is being undone. */
export type StopCause = 'failed' | 'interrupted' | 'lease-lost';

export interface FlowFailure {
  /** The step that failed or was running when the flow was stopped. */
  step: string;
  cause: StopCause;
  error: KbootError;
}

/** What a step's run, undo and cleanup receive. */
export interface StepContext<T extends object, D> {
  readonly state: FlowState<T>;
  readonly deps: D;
  /** Aborted on SIGTERM/SIGINT and when a lease this flow holds is lost: stop, the runner undoes. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Ties a lease to the rest of the flow (lease-step.ts does this): its loss aborts `signal`
   * with the loss's error; it is released as the flow unwinds, after the undos of later steps.
   */
  holdLease(holding: HeldLease): void;
  /** Notes a moment inside the step for the flow's timeline ("initialized-seen"). */
  mark(milestone: string): void;
  /** The run so far: the steps done (with their timings) and the moments marked. */
  progress(): { timings: readonly StepTiming[]; milestones: readonly Milestone[]; startedAtMs: number };
}

/** What undo and cleanup receive: `signal` aborts when the undo budget runs out. */
export interface SafeguardContext<T extends object, D>
  extends Omit<StepContext<T, D>, 'holdLease' | 'mark' | 'progress'> {
  /** Set when the flow is unwinding after a failure or a stop; absent in the cleanup of a success. */
  readonly failure: FlowFailure | undefined;
}

/** An undo or a cleanup: what it does in one line, and doing it. Must be safe to run after a half-done step. */
export interface Safeguard<T extends object, D> {
  describe: string;
  run(ctx: SafeguardContext<T, D>): Promise<void>;
  /**
   * It removes files holding secrets (quick and local): it runs even once the undo budget ran
   * out, after a hanging undo, since a secret must never stay on disk.
   */
  readonly removesSecrets?: true;
}

/** A step that ends the flow early and successfully (an instance that already joined, say). */
export interface StepEnd {
  end: string;
}

export interface Step<T extends object, D> {
  /** kebab-case, unique within its flow: log lines, timings, `lastFailure.step` and tests name it. */
  readonly name: string;
  readonly kind: StepKind;
  /** What the step does, one line: the dry-run plan and the log say it. */
  describe(state: FlowState<T>, deps: D): string;
  /**
   * A read step that needs what an earlier change step made (kubeadm's ca.crt after init): in a
   * dry run it is planned, not run.
   */
  readonly afterChange?: boolean;
  /** Why the step has nothing to do this time; undefined: it runs. Checked just before it would run. */
  skip?(state: FlowState<T>, deps: D): string | undefined;
  run(ctx: StepContext<T, D>): Promise<undefined | StepEnd>;
  /** The files a dry run shows for this step (rendered with secrets redacted). */
  files?(state: FlowState<T>, deps: D, signal: AbortSignal): Promise<PlannedFile[]> | PlannedFile[];
  /** Run, in reverse step order, when the flow fails or is stopped after this step started. */
  readonly undo?: Safeguard<T, D>;
  /** Run, in reverse step order, at the end of every run in which this step started (success too). */
  readonly cleanup?: Safeguard<T, D>;
  /**
   * Set on the step after which the flow's changes are final (the cluster marked initialized): a
   * later failure runs the cleanups but no undo of this or an earlier step. Says why.
   */
  readonly commits?: string;
  /**
   * For a change step with neither undo nor cleanup: why none is needed (it is the last step; it
   * changes nothing a retry cannot redo; it cannot be undone and a retry copes with it).
   */
  readonly noUndo?: string;
}

/** A lease the runner keeps for a flow: see hold-lease.ts for how it renews. */
export interface HeldLease {
  /** "bootstrap lease of cluster "prod"", for log lines. */
  readonly label: string;
  /** Aborted, with the loss's error as reason, when the lease is lost. */
  readonly lost: AbortSignal;
  /** Stops renewing and releases the lease (a lease already lost is left alone); never throws. */
  release(): Promise<void>;
}

export interface Flow<T extends object, D, R> {
  /** The command's name: `bootstrap-master`, `rotate`, ... */
  readonly name: string;
  readonly steps: readonly Step<T, D>[];
  /** The result of a run that got to the end of its steps (or that a step ended early). */
  result(state: FlowState<T>, run: { dryRun: boolean; ended: string | undefined }): R;
  /**
   * The error a failure exits with (its class is the exit code); default: the step's own error.
   * Also the message `recordFailure` and the log keep.
   */
  errorFor?(failure: FlowFailure, state: FlowState<T>): KbootError;
  /**
   * After the undo chain: note the failure where operators look for it (the cluster record's
   * `lastFailure`). Its own failure is logged, never thrown.
   */
  recordFailure?(ctx: SafeguardContext<T, D> & { failure: FlowFailure }): Promise<void>;
}

export interface StepTiming {
  step: string;
  /** When the step started, from the start of the run. */
  atMs: number;
  durationMs: number;
  outcome: 'done' | 'skipped' | 'planned' | 'failed' | 'stopped' | 'ended';
  /** Why it was skipped, or how it ended the flow. */
  detail?: string;
}

/** A moment inside a step, from the start of the run. */
export interface Milestone {
  milestone: string;
  atMs: number;
}

/** How a run is run: set by the edge (the CLI) once per command. */
export interface RunSettings {
  logger: Logger;
  clock: Clock;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  dryRun: boolean;
  /** The whole undo chain (and the failure record) gets this long; then the rest is skipped, said in the log. */
  undoBudgetMs: number;
  /**
   * After a stop, how long the running step may take to stop (its child gets SIGTERM, then SIGKILL)
   * before the undo chain starts anyway.
   */
  stopGraceMs: number;
}
