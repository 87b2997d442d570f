/**
 * The roll's waits: polled (never slept for a fixed time) until what they wait for is there, or
 * a ClusterTimeoutError naming what was last seen. The health gate is one of them: it passes the
 * first time every check passes, and a gate that never passes stops the roll with the problems
 * it saw.
 */

import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { jitteredMs, progressTicker } from '../state/polling.js';
import type { HealthExpectation } from './ports.js';
import type { RollDeps } from './roll-ports.js';

export interface Probe<T> {
  /** The value waited for, or undefined with what was seen instead. */
  value: T | undefined;
  seen: string;
}

export async function waitFor<T>(
  deps: RollDeps,
  signal: AbortSignal,
  logger: Logger,
  what: string,
  timeoutMs: number,
  probe: () => Promise<Probe<T>>,
): Promise<T> {
  const { clock } = deps;
  const deadlineMs = clock.monotonicMs() + timeoutMs;
  const tick = progressTicker();
  for (;;) {
    const { value, seen } = await probe();
    if (value !== undefined) return value;
    if (clock.monotonicMs() >= deadlineMs) {
      throw new ClusterTimeoutError(`waited ${formatDurationMs(timeoutMs)} for ${what}; last seen: ${seen}`, {
        hint: `nothing further was replaced; look at the instance and 'kboot status --cluster ${deps.settings.cluster}', then run 'kboot cluster upgrade' again: it resumes`,
        details: { waitingFor: what, seen },
      });
    }
    if (tick(clock.nowMs())) logger.info({ waitingFor: what, seen }, `waiting for ${what} (${seen})`);
    await clock.sleepMs(jitteredMs(deps.settings.pollMs), signal);
  }
}

/** The health gate: polled until every check passes, for at most the gate timeout. */
export async function healthGate(
  deps: RollDeps,
  signal: AbortSignal,
  logger: Logger,
  after: string,
  expect: HealthExpectation,
): Promise<void> {
  await waitFor(
    deps,
    signal,
    logger,
    `the health gate after ${after} (control plane ${expect.controlPlaneNodes.join(', ') || 'none'}; Ready ${expect.readyNodes.join(', ') || 'none'})`,
    deps.settings.gateTimeoutMs,
    async () => {
      const report = await deps.ports.health.check(expect);
      return report.healthy
        ? { value: true, seen: 'healthy' }
        : { value: undefined, seen: report.problems.join('; ') };
    },
  );
  logger.info({ after, ...expect }, `health gate passed after ${after}`);
}
