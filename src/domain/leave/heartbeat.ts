/**
 * Heartbeats for a lifecycle action while `kboot leave` works: one every `intervalMs` in the
 * background, until stopped. A failed heartbeat is logged and retried at the next tick (the hook
 * gives several intervals of slack), never fatal: if they all fail the hook times out and Auto
 * Scaling terminates the instance anyway (its default result is CONTINUE).
 */

import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';

/** A third of the hook's heartbeat timeout: two heartbeats may fail before the hook lapses. */
export function heartbeatIntervalMs(heartbeatTimeoutSeconds: number): number {
  return Math.max(1000, Math.floor((heartbeatTimeoutSeconds * 1000) / 3));
}

export interface Heartbeat {
  /** Heartbeats recorded so far. */
  readonly sent: number;
  /** True once stop() was called. */
  readonly stopped: boolean;
  /** Stops the heartbeats (idempotent) and waits for a beat in flight. */
  stop(): Promise<void>;
}

export function startHeartbeat(options: {
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  beat(signal: AbortSignal): Promise<void>;
}): Heartbeat {
  const { intervalMs, clock, logger } = options;
  const controller = new AbortController();
  const state = { sent: 0 };
  const loop = (async () => {
    for (;;) {
      try {
        await clock.sleepMs(intervalMs, controller.signal);
      } catch {
        return; // stopped
      }
      try {
        await options.beat(controller.signal);
        state.sent += 1;
        logger.debug({ heartbeats: state.sent }, 'recorded a lifecycle action heartbeat');
      } catch (error) {
        if (controller.signal.aborted) return;
        logger.warn(
          { err: error },
          'could not record a lifecycle action heartbeat; trying again at the next tick',
        );
      }
    }
  })();
  return {
    get sent() {
      return state.sent;
    },
    get stopped() {
      return controller.signal.aborted;
    },
    async stop() {
      controller.abort(new Error('heartbeat stopped'));
      await loop;
    },
  };
}
