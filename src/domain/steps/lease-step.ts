/**
 * The step that takes a lease for the rest of a flow: it acquires (trying once, or waiting until
 * a deadline), hands the lease to the runner, which renews it in the background, stops the flow
 * when it is lost, and releases it as the flow unwinds — after the undos of every later step, so
 * a `kubeadm reset` finishes before another instance may start.
 */

import { acquireLease, type HoldLeaseOptions, holdAcquired, notAcquiredError } from '../state/hold-lease.js';
import type { Lease, LeaseLock, LockRecord } from '../state/lease.js';
import type { FlowState } from './state.js';
import type { Step, StepContext, StepEnd } from './step.js';

export interface LeaseRequest {
  lock: LeaseLock;
  options: Omit<HoldLeaseOptions, 'logger' | 'signal'>;
}

export interface LeaseStepSpec<T extends object, D> {
  name: string;
  describe(state: FlowState<T>, deps: D): string;
  /** Which lock, and how long to wait for it (no `acquireDeadlineMs`: try once). */
  request(ctx: StepContext<T, D>): Promise<LeaseRequest>;
  /** Keep what later steps need (the fence, say). */
  acquired(ctx: StepContext<T, D>, lease: Lease): void;
  /**
   * The lock stayed held by another instance: end the flow (return why) or fail (throw). Called
   * with what the last attempt saw, and the error holdLease would have thrown.
   */
  busy(ctx: StepContext<T, D>, current: LockRecord, notAcquired: Error): StepEnd;
  skip?(state: FlowState<T>, deps: D): string | undefined;
}

export function leaseStep<T extends object, D>(spec: LeaseStepSpec<T, D>): Step<T, D> {
  return {
    name: spec.name,
    kind: 'change',
    describe: spec.describe,
    ...(spec.skip === undefined ? {} : { skip: spec.skip }),
    noUndo: 'the runner releases the lease as the flow unwinds, after the undos of the steps that needed it',
    async run(ctx) {
      const { lock, options } = await spec.request(ctx);
      const full: HoldLeaseOptions = { ...options, logger: ctx.logger, signal: ctx.signal };
      const outcome = await acquireLease(lock, full);
      if (!outcome.acquired) {
        return spec.busy(ctx, outcome.current, notAcquiredError(lock, full, outcome.current));
      }
      const holding = holdAcquired(lock, outcome.lease, full);
      ctx.holdLease(holding);
      spec.acquired(ctx, outcome.lease);
      return undefined;
    },
  };
}
