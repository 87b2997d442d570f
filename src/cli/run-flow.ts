/**
 * The one way a command runs a flow on an instance (boot flows, rotate, cleanup, leave): the
 * runner's settings from the context (SIGTERM/SIGINT, the undo budget), the result printed (a
 * line, the --dry-run plan, or --output json with each step's timing), and a stopped flow's error
 * thrown for the CLI to turn into its exit code.
 */

import { renderPlan } from '../domain/steps/plan.js';
import type { FlowRun } from '../domain/steps/runner.js';
import { FlowStopped } from '../domain/steps/runner.js';
import type { RunSettings } from '../domain/steps/step.js';
import type { CommandContext } from './context.js';

/** How long a stopped step may take to stop (its child: SIGTERM, then SIGKILL after 5 s). */
export const STOP_GRACE_MS = 15_000;

/**
 * The undo chain's budget per command: inside the systemd unit's TimeoutStopSec, after the stop
 * grace (kboot-boot.service 3 min, kboot-rotate.service 2 min, kboot-leave-watch.service 30 s).
 */
export const UNDO_BUDGET_MS = {
  boot: 90_000,
  rotate: 60_000,
  cleanup: 60_000,
  leave: 10_000,
  /** Deleting an uploaded object; kboot-etcd-snapshot.service stops in 2 min. */
  snapshot: 60_000,
  /** Putting kubeadm's etcd manifest back. */
  recover: 10_000,
  /** Approving changes nothing to undo; kboot-approve-csrs.service stops in 30 s. */
  approveCsrs: 5_000,
} as const;

export function runSettings(ctx: CommandContext, dryRun: boolean, undoBudgetMs: number): RunSettings {
  return {
    logger: ctx.logger,
    clock: ctx.clock,
    signal: ctx.signal,
    dryRun,
    undoBudgetMs,
    stopGraceMs: STOP_GRACE_MS,
  };
}

export interface PrintOptions {
  flow: string;
  dryRun: boolean;
  /** The JSON key of the step timings (`steps`, unless the result has steps of its own). */
  timingsKey?: string;
  /** A dry run with nothing planned prints the summary instead of an empty plan. */
  summaryWhenNothingPlanned?: boolean;
}

/** Runs `run` and prints its result; a stopped flow rethrows its error (the exit code's class). */
export async function runFlowCommand<R extends { summary: string }>(
  ctx: CommandContext,
  print: PrintOptions,
  run: () => Promise<FlowRun<R>>,
): Promise<FlowRun<R>> {
  let done: FlowRun<R>;
  try {
    done = await run();
  } catch (error) {
    if (error instanceof FlowStopped) throw error.failure.error;
    throw error;
  }
  const { result, planned, timings } = done;
  if (ctx.output.format === 'json') {
    ctx.output.json({
      ...result,
      ...(print.dryRun ? { plan: planned } : {}),
      [print.timingsKey ?? 'steps']: timings,
    });
  } else if (print.dryRun && !(print.summaryWhenNothingPlanned === true && planned.length === 0)) {
    ctx.output.text(renderPlan(print.flow, planned));
  } else {
    ctx.output.text(result.summary);
  }
  return done;
}
