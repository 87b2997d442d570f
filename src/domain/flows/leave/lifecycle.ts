/**
 * The Auto Scaling side of a leave: find the instance's group and kboot's termination hook,
 * record heartbeats while leaving, stop them, and complete the lifecycle action (CONTINUE).
 */

import { formatDurationMs } from '../../../core/duration.js';
import { heartbeatIntervalMs, startHeartbeat } from '../../leave/heartbeat.js';
import type { FlowState } from '../../steps/state.js';
import { bestEffort, report } from './report.js';
import type { FoundAction, LeaveState, LeaveStep, Leaving } from './types.js';

export const lifecycleAction: LeaveStep = {
  name: 'lifecycle-action',
  kind: 'read',
  describe: () => "find the instance's Auto Scaling group and kboot's termination hook",
  async run({ state, signal }) {
    const leaving = state.get('leaving');
    leaving.signal = signal;
    state.set({ action: await findLifecycleActionOrGoOn(leaving) });
    return undefined;
  },
};

export const heartbeats: LeaveStep = {
  name: 'heartbeats',
  kind: 'change',
  describe: () => 'record lifecycle action heartbeats in the background while leaving',
  skip: (state) => (state.get('action') === undefined ? 'no lifecycle action' : undefined),
  async run({ state, deps, logger }) {
    const action = state.get('action');
    if (action === undefined) return undefined;
    const lifecycle = await deps.lifecycle();
    const options = state.get('options');
    const intervalMs = options.heartbeatIntervalMs ?? heartbeatIntervalMs(action.heartbeatTimeoutSeconds);
    logger.info(
      { every: formatDurationMs(intervalMs) },
      'recording lifecycle action heartbeats in the background',
    );
    state.set({
      heartbeat: startHeartbeat({
        intervalMs,
        clock: deps.clock,
        logger,
        beat: (signal) => lifecycle.recordHeartbeat(action.ref, signal),
      }),
    });
    return undefined;
  },
  cleanup: {
    describe: 'stop the lifecycle action heartbeats',
    run: async ({ state }) => stopHeartbeats(state),
  },
};

async function stopHeartbeats(state: FlowState<LeaveState>): Promise<void> {
  const heartbeat = state.peek('heartbeat');
  if (heartbeat === undefined || heartbeat.stopped) return;
  await heartbeat.stop();
  state
    .get('leaving')
    .deps.logger.info({ heartbeats: heartbeat.sent }, 'stopped lifecycle action heartbeats');
}

export const stopHeartbeatsStep: LeaveStep = {
  name: 'stop-heartbeats',
  kind: 'change',
  describe: () => 'stop the lifecycle action heartbeats',
  skip: (state) => (state.get('action') === undefined ? 'no lifecycle action' : undefined),
  noUndo: 'nothing to undo',
  async run({ state }) {
    await stopHeartbeats(state);
    return undefined;
  },
};

export const completeLifecycleAction = bestEffort({
  name: 'complete-lifecycle-action',
  describe: (leaving) =>
    `complete kboot's lifecycle action of ${leaving.identity.instance.instanceId} with CONTINUE`,
  noUndo: 'Auto Scaling terminates the instance: the last step',
  run: async (leaving, state) => {
    const action = state.get('action');
    if (action === undefined) return { skipped: 'no lifecycle action to complete' };
    const outcome = await (await leaving.deps.lifecycle()).complete(action.ref, 'CONTINUE', leaving.signal);
    return outcome === 'completed'
      ? `completed lifecycle action ${action.ref.hookName} (CONTINUE): Auto Scaling terminates the instance`
      : {
          skipped: `no lifecycle action of hook ${action.ref.hookName} is waiting (already completed, or timed out)`,
        };
  },
});

/**
 * Auto Scaling unreachable or denied: the node still leaves the cluster (termination is coming
 * either way), and the exit code says what failed.
 */
async function findLifecycleActionOrGoOn(leaving: Leaving): Promise<FoundAction | undefined> {
  try {
    return await findLifecycleAction(leaving);
  } catch (error) {
    if (leaving.signal.aborted) throw error;
    leaving.failures.push({ step: 'lifecycle-action', error });
    const message = error instanceof Error ? error.message : String(error);
    report(
      leaving,
      'lifecycle-action',
      'failed',
      `could not find the lifecycle action (${message}); leaving the cluster without heartbeats or completion`,
    );
    return undefined;
  }
}

async function findLifecycleAction(leaving: Leaving): Promise<FoundAction | undefined> {
  const { deps, options, identity } = leaving;
  const instanceId = identity.instance.instanceId;
  const lifecycle = await deps.lifecycle();
  const group = await lifecycle.findGroup(instanceId, leaving.signal);
  if (group === undefined) {
    deps.logger.info(
      { instanceId },
      'this instance is in no Auto Scaling group: no lifecycle action to record heartbeats for or complete',
    );
    return undefined;
  }
  const hook = await lifecycle.findHook(group.groupName, options.hookName, leaving.signal);
  if (hook === undefined) {
    deps.logger.warn(
      { group: group.groupName, hook: options.hookName },
      `Auto Scaling group ${group.groupName} has no lifecycle hook ${options.hookName}: Auto Scaling does not wait for kboot leave (README: "Launch templates and Auto Scaling groups")`,
    );
    return undefined;
  }
  deps.logger.info(
    { group: group.groupName, hook: hook.name, lifecycleState: group.lifecycleState },
    'found the Auto Scaling lifecycle action',
  );
  return {
    ref: {
      groupName: group.groupName,
      hookName: hook.name,
      instanceId,
      ...(options.lifecycleActionToken === undefined ? {} : { token: options.lifecycleActionToken }),
    },
    heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
  };
}
