/**
 * The triggers of `kboot leave` that IMDS shows: Auto Scaling moving the instance to
 * `Terminated` (or `Warmed:Terminated` in a warm pool) at autoscaling/target-lifecycle-state,
 * and a spot interruption notice with action `terminate` at spot/instance-action (a spot `stop`
 * or `hibernate` brings the instance back: it stays in the cluster).
 */

import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Imds } from '../ports/imds.js';
import { lifecycleState, spotInstanceAction } from '../ports/imds-readers.js';

const TERMINATING_STATES: ReadonlySet<string> = new Set(['Terminated', 'Warmed:Terminated']);

/** Why the instance is being terminated, or undefined when IMDS shows nothing. */
export async function terminationSignal(imds: Imds): Promise<string | undefined> {
  const [state, spot] = await Promise.all([lifecycleState(imds), spotInstanceAction(imds)]);
  if (state !== undefined && TERMINATING_STATES.has(state)) {
    return `Auto Scaling target lifecycle state is ${state}`;
  }
  if (spot?.action === 'terminate') return `spot interruption notice: terminate at ${spot.time}`;
  return undefined;
}

/** Polls IMDS every `pollMs` until the instance is being terminated; IMDS errors are logged and retried. */
export async function waitForTermination(options: {
  imds: Imds;
  clock: Clock;
  logger: Logger;
  pollMs: number;
  signal: AbortSignal;
}): Promise<string> {
  const { imds, clock, logger, pollMs, signal } = options;
  logger.info(
    { every: `${pollMs}ms` },
    'watching IMDS for termination (target lifecycle state, spot interruption)',
  );
  for (;;) {
    signal.throwIfAborted();
    try {
      const reason = await terminationSignal(imds);
      if (reason !== undefined) {
        logger.info({ reason }, 'this instance is being terminated: leaving the cluster');
        return reason;
      }
    } catch (error) {
      if (signal.aborted) throw error;
      logger.warn({ err: error }, 'could not read the termination signals from IMDS; trying again');
    }
    await clock.sleepMs(pollMs, signal);
  }
}
