/**
 * How a leave step reports: each records what it did (done, skipped and why, failed); a failure
 * is recorded and the leave goes on, and the last step fails with the first failure's error.
 */

import type { FlowState } from '../../steps/state.js';
import type { LeaveState, LeaveStep, Leaving, StepOutcome } from './types.js';

export function report(leaving: Leaving, step: string, outcome: StepOutcome, detail: string): void {
  leaving.reports.push({ step, outcome, detail });
  const log = leaving.deps.logger;
  if (outcome === 'failed') log.error({ step }, detail);
  else log.info({ step, outcome }, detail);
}

/**
 * A leave step: runs `run`, records what it did (done, skipped and why); a failure is recorded and
 * the leave goes on — unless the flow was stopped, which ends it.
 */
export function bestEffort(spec: {
  name: string;
  describe: (leaving: Leaving) => string;
  skip?: (state: FlowState<LeaveState>) => string | undefined;
  noUndo: string;
  run: (leaving: Leaving, state: FlowState<LeaveState>) => Promise<string | { skipped: string }>;
}): LeaveStep {
  return {
    name: spec.name,
    kind: 'change',
    describe: (state) => spec.describe(state.get('leaving')),
    ...(spec.skip === undefined
      ? {}
      : {
          // The runner asks once, just before the step would run: the result says why too.
          skip: (state: FlowState<LeaveState>) => {
            const why = spec.skip?.(state);
            if (why !== undefined) report(state.get('leaving'), spec.name, 'skipped', why);
            return why;
          },
        }),
    noUndo: spec.noUndo,
    async run({ state, signal }) {
      const leaving = state.get('leaving');
      leaving.signal = signal;
      try {
        const outcome = await spec.run(leaving, state);
        if (typeof outcome === 'string') report(leaving, spec.name, 'done', outcome);
        else report(leaving, spec.name, 'skipped', outcome.skipped);
      } catch (error) {
        if (signal.aborted) throw error;
        leaving.failures.push({ step: spec.name, error });
        const message = error instanceof Error ? error.message : String(error);
        report(leaving, spec.name, 'failed', `${spec.name} failed: ${message}`);
      }
      return undefined;
    },
  };
}

/** Why a master-only step does nothing on a worker. */
export const WORKER_HOLDS_NO_CREDENTIAL =
  'a worker holds no Kubernetes credential: a control-plane member drains it and deletes its Node';

export const mastersOnly = (reason: string) => (state: FlowState<LeaveState>) =>
  state.get('leaving').controlPlane ? undefined : reason;
export const workersOnly = (state: FlowState<LeaveState>) =>
  state.get('leaving').controlPlane ? 'a master drains itself with its own admin.conf' : undefined;

export const outcomeStep: LeaveStep = {
  name: 'outcome',
  kind: 'read',
  describe: () => 'report the first failure, if any',
  async run({ state, logger }) {
    const leaving = state.get('leaving');
    const first = leaving.failures[0];
    if (first === undefined) return undefined;
    const failed = leaving.failures.map((failure) => failure.step).join(', ');
    logger.error({ failedSteps: failed }, `left cluster ${leaving.cluster} with failures in: ${failed}`);
    throw first.error;
  },
};
