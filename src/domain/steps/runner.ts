/**
 * Runs a flow's steps (step.ts) top to bottom.
 * - Each step is logged as it starts (`step` field, what it does) and timed.
 * - A dry run runs the read steps and plans the change steps (and the reads that need a change).
 * - A step that throws, a SIGTERM/SIGINT (the settings' signal) or a lost lease stops the flow:
 *   the running step's signal aborts (its child gets SIGTERM, then SIGKILL), the runner waits for
 *   it up to `stopGraceMs`, then unwinds: for every step that started, last first, its undo (on a
 *   failure or stop) and its cleanup (always) — all within `undoBudgetMs`. Then the flow's
 *   `recordFailure`, then the error is thrown: the step's own error, or the stop's (interrupted,
 *   lease lost), so the exit code says what happened.
 * - A run that succeeds runs the cleanups (remove secret-bearing files, release leases), last first.
 * Nothing is left running when runFlow settles: no step, no renewal.
 */

import { formatDurationMs } from '../../core/duration.js';
import {
  InternalError,
  InterruptedError,
  isKbootError,
  StateConflictError,
  toKbootError,
} from '../../core/errors.js';
import { FlowState } from './state.js';
import type {
  Flow,
  FlowFailure,
  HeldLease,
  Milestone,
  PlannedStep,
  RunSettings,
  Safeguard,
  SafeguardContext,
  Step,
  StepContext,
  StepTiming,
  StopCause,
} from './step.js';

export interface FlowRun<R> {
  result: R;
  /** Every step, in order: done, skipped (why), planned (dry run) or the one that ended the flow. */
  timings: StepTiming[];
  /** A dry run's plan; empty otherwise. */
  planned: PlannedStep[];
  /** Moments steps marked (`ctx.mark`), in order. */
  milestones: Milestone[];
  /** When the run started (clock ms): timings and milestones count from here. */
  startedAtMs: number;
}

/** Thrown by runFlow: the error of the failure, with the flow's timings for `--output json`. */
export class FlowStopped extends Error {
  constructor(
    readonly failure: FlowFailure,
    readonly timings: StepTiming[],
    readonly milestones: Milestone[],
    readonly startedAtMs: number,
  ) {
    super(failure.error.message, { cause: failure.error });
    this.name = 'FlowStopped';
  }
}

interface Started<T extends object, D> {
  step: Step<T, D>;
  /** Leases the step took for the rest of the flow: released where the step stands in the unwind. */
  leases: { holding: HeldLease; onLost: () => void }[];
  /** The step's run settled without an error. */
  done: boolean;
}

export async function runFlow<T extends object, D, R>(
  flow: Flow<T, D, R>,
  deps: D,
  settings: RunSettings,
  initial: Partial<T> = {},
): Promise<FlowRun<R>> {
  const { clock } = settings;
  const logger = settings.logger.child({ flow: flow.name });
  const state = new FlowState<T>(initial);
  const stop = new AbortController();
  let stopCause: StopCause | undefined;
  const stopWith = (cause: StopCause, reason: unknown): void => {
    if (stop.signal.aborted) return;
    stopCause = cause;
    stop.abort(reason);
  };
  const onOuterAbort = (): void => stopWith('interrupted', interruptedReason(settings.signal.reason));
  if (settings.signal.aborted) onOuterAbort();
  settings.signal.addEventListener('abort', onOuterAbort, { once: true });

  const started: Started<T, D>[] = [];
  const holdLease = (holding: HeldLease): void => {
    const current = started.at(-1);
    if (current === undefined) throw new InternalError('a lease can only be held by a running step');
    const onLost = (): void => stopWith('lease-lost', holding.lost.reason);
    current.leases.push({ holding, onLost });
    if (holding.lost.aborted) onLost();
    else holding.lost.addEventListener('abort', onLost, { once: true });
  };

  const startedMs = clock.nowMs();
  const timings: StepTiming[] = [];
  const planned: PlannedStep[] = [];
  const milestones: Milestone[] = [];
  const mark = (milestone: string): void => {
    milestones.push({ milestone, atMs: clock.nowMs() - startedMs });
  };
  const progress = () => ({ timings, milestones, startedAtMs: startedMs });
  const context: StepContext<T, D> = {
    state,
    deps,
    signal: stop.signal,
    logger,
    holdLease,
    mark,
    progress,
  };
  let planning = false;
  let ended: string | undefined;
  let failure: FlowFailure | undefined;

  try {
    for (const step of flow.steps) {
      const atMs = clock.nowMs() - startedMs;
      if (stop.signal.aborted) {
        failure = stopped(step.name, stopCause ?? 'interrupted', stop.signal.reason);
        break;
      }
      const skipped = step.skip?.(state, deps);
      if (skipped !== undefined) {
        logger.debug({ step: step.name, why: skipped }, `skipping step ${step.name}: ${skipped}`);
        timings.push({ step: step.name, atMs, durationMs: 0, outcome: 'skipped', detail: skipped });
        continue;
      }
      if (settings.dryRun && (step.kind === 'change' || (planning && step.afterChange === true))) {
        planning = true;
        const description = step.describe(state, deps);
        const files = (await step.files?.(state, deps, stop.signal)) ?? [];
        planned.push({ step: step.name, description, ...(files.length > 0 ? { files } : {}) });
        logger.info({ step: step.name }, `would ${description}`);
        timings.push({ step: step.name, atMs, durationMs: 0, outcome: 'planned' });
        continue;
      }
      const current: Started<T, D> = { step, leases: [], done: false };
      started.push(current);
      logger.info({ step: step.name, phase: 'run' }, step.describe(state, deps));
      const outcome = await runStep(step, context, stop.signal, settings);
      const durationMs = clock.nowMs() - startedMs - atMs;
      if (outcome.kind === 'threw') {
        const cause = stop.signal.aborted ? (stopCause ?? 'interrupted') : 'failed';
        failure =
          cause === 'failed'
            ? { step: step.name, cause, error: toKbootError(outcome.error, `step ${step.name}`) }
            : stopped(step.name, cause, stop.signal.reason);
        timings.push({
          step: step.name,
          atMs,
          durationMs,
          outcome: cause === 'failed' ? 'failed' : 'stopped',
        });
        break;
      }
      current.done = true;
      if (outcome.end !== undefined) {
        ended = outcome.end;
        timings.push({ step: step.name, atMs, durationMs, outcome: 'ended', detail: ended });
        logger.debug({ step: step.name, why: ended }, `the flow ends at step ${step.name}: ${ended}`);
        break;
      }
      timings.push({ step: step.name, atMs, durationMs, outcome: 'done' });
    }
    // A stop that came while the last step finished: the flow did what it had to; nothing to undo.
  } finally {
    settings.signal.removeEventListener('abort', onOuterAbort);
  }
  if (failure !== undefined && flow.errorFor !== undefined) {
    failure = { ...failure, error: flow.errorFor(failure, state) };
  }

  await unwind(flow, started, { state, deps, logger, failure }, settings);
  if (failure !== undefined) throw new FlowStopped(failure, timings, milestones, startedMs);
  return {
    result: flow.result(state, { dryRun: settings.dryRun, ended }),
    timings,
    planned,
    milestones,
    startedAtMs: startedMs,
  };
}

type StepOutcome = { kind: 'ran'; end: string | undefined } | { kind: 'threw'; error: unknown };

/**
 * Runs one step. When the flow is stopped meanwhile, waits for the step to settle (it sees its
 * signal aborted: children are stopped, calls cancelled) up to stopGraceMs, then gives up on it.
 */
async function runStep<T extends object, D>(
  step: Step<T, D>,
  context: StepContext<T, D>,
  stopSignal: AbortSignal,
  settings: RunSettings,
): Promise<StepOutcome> {
  const running: Promise<StepOutcome> = step.run(context).then(
    (value) => ({ kind: 'ran', end: value?.end }),
    (error: unknown) => ({ kind: 'threw', error }),
  );
  if (stopSignal.aborted) return settleWithin(running, step.name, settings);
  let onStop = (): void => {};
  const stoppedFirst = new Promise<'stopped'>((resolve) => {
    onStop = () => resolve('stopped');
    stopSignal.addEventListener('abort', onStop, { once: true });
  });
  const first = await Promise.race([running, stoppedFirst]);
  stopSignal.removeEventListener('abort', onStop);
  if (first !== 'stopped') return first;
  return settleWithin(running, step.name, settings);
}

async function settleWithin(
  running: Promise<StepOutcome>,
  step: string,
  settings: RunSettings,
): Promise<StepOutcome> {
  const grace = new AbortController();
  const timedOut = settings.clock.sleepMs(settings.stopGraceMs, grace.signal).then(
    () => 'timed-out' as const,
    () => 'cancelled' as const,
  );
  const settled = await Promise.race([running, timedOut]);
  grace.abort();
  if (settled === 'timed-out' || settled === 'cancelled') {
    settings.logger.warn(
      { step, graceMs: settings.stopGraceMs },
      `step ${step} did not stop within ${formatDurationMs(settings.stopGraceMs)}; undoing anyway`,
    );
    return { kind: 'threw', error: new InterruptedError(`step ${step} did not stop in time`) };
  }
  // A step that finished its work as the stop came counts as done (it may have committed the
  // flow); the stop then takes effect before the next step.
  return settled;
}

function interruptedReason(reason: unknown): InterruptedError {
  if (reason instanceof InterruptedError) return reason;
  return new InterruptedError('interrupted', {
    cause: reason,
    hint: 'run the command again to resume',
  });
}

function stopped(step: string, cause: StopCause, reason: unknown): FlowFailure {
  if (cause === 'lease-lost') {
    const error =
      reason instanceof StateConflictError
        ? reason
        : new StateConflictError('lost a lease this flow held', { cause: reason });
    return { step, cause, error };
  }
  return { step, cause, error: isKbootError(reason) ? reason : interruptedReason(reason) };
}

interface UnwindInput<T extends object, D> {
  state: FlowState<T>;
  deps: D;
  logger: RunSettings['logger'];
  failure: FlowFailure | undefined;
}

/**
 * Undo (after a failure or stop) and cleanup (always), last step first; leases are released where
 * their step stands in the list. Then the failure record. All within the undo budget.
 */
async function unwind<T extends object, D, R>(
  flow: Flow<T, D, R>,
  started: readonly Started<T, D>[],
  input: UnwindInput<T, D>,
  settings: RunSettings,
): Promise<void> {
  const { clock } = settings;
  const { logger, failure } = input;
  const budget = new AbortController();
  const deadlineMs = clock.nowMs() + settings.undoBudgetMs;
  const timer = clock.sleepMs(settings.undoBudgetMs, budget.signal).then(
    () => budget.abort(new InterruptedError('the undo budget ran out')),
    () => {},
  );
  const context: SafeguardContext<T, D> = {
    state: input.state,
    deps: input.deps,
    logger,
    signal: budget.signal,
    failure,
  };
  if (failure !== undefined && started.length > 0) {
    logger.warn(
      { step: failure.step, cause: failure.cause, err: failure.error },
      `${flow.name} stopped at step ${failure.step} (${describeCause(failure)}); undoing within ${formatDurationMs(settings.undoBudgetMs)}`,
    );
  }
  const chain: { step: string; what: 'undo' | 'cleanup' | 'release'; safeguard: Safeguard<T, D> }[] = [];
  // The changes up to the last step that committed (and finished) are final: no undo for them.
  const committed = started.findLastIndex(({ step, done }) => step.commits !== undefined && done);
  for (const [index, { step, leases }] of [...started.entries()].reverse()) {
    if (failure !== undefined && step.undo !== undefined && index > committed)
      chain.push({ step: step.name, what: 'undo', safeguard: step.undo });
    if (step.cleanup !== undefined) chain.push({ step: step.name, what: 'cleanup', safeguard: step.cleanup });
    for (const { holding, onLost } of [...leases].reverse()) {
      chain.push({
        step: step.name,
        what: 'release',
        safeguard: {
          describe: `release the ${holding.label}`,
          run: async () => {
            holding.lost.removeEventListener('abort', onLost);
            await holding.release();
          },
        },
      });
    }
  }
  try {
    for (const [index, link] of chain.entries()) {
      if (budget.signal.aborted) {
        // Past the budget only the removal of secret-bearing files still runs.
        const rest = chain.slice(index);
        const skipped = rest
          .filter((other) => other.safeguard.removesSecrets !== true)
          .map((other) => `${other.step}: ${other.safeguard.describe}`);
        logger.error(
          { skipped },
          `the undo budget (${formatDurationMs(settings.undoBudgetMs)}) ran out; not done: ${skipped.join('; ')}`,
        );
        for (const secrets of rest.filter((other) => other.safeguard.removesSecrets === true)) {
          logger.info({ step: secrets.step, phase: secrets.what }, secrets.safeguard.describe);
          try {
            await secrets.safeguard.run(context);
          } catch (error) {
            logger.error(
              { step: secrets.step, err: error },
              `could not ${secrets.what} step ${secrets.step} (${secrets.safeguard.describe})`,
            );
          }
        }
        break;
      }
      logger.info({ step: link.step, phase: link.what }, link.safeguard.describe);
      try {
        await link.safeguard.run(context);
      } catch (error) {
        logger.error(
          { step: link.step, err: error, leftMs: Math.max(0, deadlineMs - clock.nowMs()) },
          `could not ${link.what} step ${link.step} (${link.safeguard.describe})`,
        );
      }
    }
    if (failure !== undefined && flow.recordFailure !== undefined && !budget.signal.aborted) {
      try {
        await flow.recordFailure({ ...context, failure });
      } catch (error) {
        logger.error({ err: error }, 'could not record the failure in the cluster record');
      }
    }
  } finally {
    budget.abort();
    await timer;
  }
}

function describeCause(failure: FlowFailure): string {
  switch (failure.cause) {
    case 'failed':
      return `it failed: ${failure.error.message}`;
    case 'interrupted':
      return 'interrupted';
    case 'lease-lost':
      return 'its lease was lost';
  }
}
