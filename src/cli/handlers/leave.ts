/**
 * The edge of `kboot leave`: flags parsed, the boot flows' ports (flow-deps.ts) plus the ones
 * leaving needs (kubectl, Auto Scaling lifecycle actions, etcd, the member registry, the leave
 * requests a worker asks the control plane to drain it with), the triggers (`--watch`: poll IMDS until the instance is being
 * terminated; `--only-if-terminating`: the shutdown unit's guard against plain reboots), and the
 * result printed (a line, the --dry-run plan, or --output json).
 */

import { parseDurationMs } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { boundsOf } from '../../domain/config/durations.js';
import type { LeaveDeps, LeaveOptions } from '../../domain/flows/leave/types.js';
import { terminationSignal, waitForTermination } from '../../domain/leave/watch.js';
import type { CommandContext } from '../context.js';
import { COMMAND_DEFAULTS } from '../defaults.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export interface LeaveCommandOptions extends FlowEdgeOptions {
  drainTimeout?: string;
  lifecycleHook?: string;
  lifecycleActionToken?: string;
  heartbeatInterval?: string;
  watch?: boolean;
  pollInterval?: string;
  onlyIfTerminating?: boolean;
}

const HOOK_NAME = /^[A-Za-z0-9\-_/]{1,255}$/;
const ACTION_TOKEN = /^[0-9a-fA-F-]{36}$/;

export function leaveOptionsFrom(options: LeaveCommandOptions): LeaveOptions & { pollMs: number } {
  const hookName = options.lifecycleHook ?? COMMAND_DEFAULTS.leave.lifecycleHook;
  if (!HOOK_NAME.test(hookName)) {
    throw new UsageError(`invalid --lifecycle-hook "${hookName}"`, {
      hint: `give the name of the Auto Scaling lifecycle hook (letters, digits, - _ /), default ${COMMAND_DEFAULTS.leave.lifecycleHook}`,
    });
  }
  const token = options.lifecycleActionToken;
  if (token !== undefined && !ACTION_TOKEN.test(token)) {
    throw new UsageError(
      'invalid --lifecycle-action-token: expected the UUID Auto Scaling sent with the notification',
      {
        hint: 'leave it out to name the lifecycle action by this instance id',
      },
    );
  }
  if (options.watch === true && options.onlyIfTerminating === true) {
    throw new UsageError('--watch and --only-if-terminating cannot be combined', {
      hint: 'use --watch in the watching service, --only-if-terminating in the shutdown unit',
    });
  }
  const drainTimeoutMs = parseDurationMs(
    options.drainTimeout ?? COMMAND_DEFAULTS.leave.drainTimeout,
    '--drain-timeout',
    boundsOf('--drain-timeout'),
  );
  const heartbeatIntervalMs =
    options.heartbeatInterval === undefined
      ? undefined
      : parseDurationMs(options.heartbeatInterval, '--heartbeat-interval', boundsOf('--heartbeat-interval'));
  const pollMs = parseDurationMs(
    options.pollInterval ?? COMMAND_DEFAULTS.leave.pollInterval,
    '--poll-interval',
    boundsOf('--poll-interval'),
  );
  return {
    hookName,
    drainTimeoutMs,
    ...(token === undefined ? {} : { lifecycleActionToken: token }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    pollMs,
  };
}

export async function leaveCommand(options: LeaveCommandOptions, ctx: CommandContext): Promise<void> {
  const leaveOptions = leaveOptionsFrom(options);
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings(options, loaded.config, ctx.env);
  const { deps, services, close } = wireFlowDeps(ctx, 'leave', loaded, settings);
  const leaveDeps: LeaveDeps = {
    ...deps,
    lifecycle: async () => {
      const { AutoScalingLifecycleActions } = await import('../../adapters/aws/autoscaling-lifecycle.js');
      return new AutoScalingLifecycleActions(await (await services.aws()).autoScaling());
    },
    etcd: async (endpoints) => {
      const { HttpEtcdMembership, LOCAL_ETCD_ENDPOINT } = await import('../../adapters/etcd/membership.js');
      // KBOOT_ETCD_ENDPOINTS, parsed and checked once by the wiring (cli/cleanup-wiring.ts).
      const defaults = deps.cleanup.etcdEndpointsOverride ?? [LOCAL_ETCD_ENDPOINT];
      return HttpEtcdMembership.create({
        fs: loaded.fs,
        logger: deps.logger.child({ component: 'etcd' }),
        endpoints: endpoints ?? defaults,
        sleepMs: (ms, signal) => ctx.clock.sleepMs(ms, signal),
      });
    },
    members: async () => {
      const { DynamoDbClusterStore } = await import('../../adapters/aws/dynamodb-cluster-store.js');
      return new DynamoDbClusterStore({
        dynamodb: await (await services.aws()).dynamodb(),
        tableName: await services.table(),
        clock: ctx.clock,
      });
    },
    snapshotEtcd: async (signal) => {
      const { forcedSnapshot } = await import('../snapshot-wiring.js');
      return forcedSnapshot(ctx, loaded, { deps, services }, signal);
    },
    leaveRequests: async () => {
      const { DynamoDbLeaveRequests } = await import('../../adapters/aws/dynamodb-leave-requests.js');
      return new DynamoDbLeaveRequests({
        dynamodb: await (await services.aws()).dynamodb(),
        tableName: await services.table(),
      });
    },
  };
  try {
    if (options.watch === true && !settings.dryRun) {
      await waitForTermination({
        imds: services.imds,
        clock: ctx.clock,
        logger: deps.logger,
        pollMs: leaveOptions.pollMs,
        signal: ctx.signal,
      });
    }
    if (options.onlyIfTerminating === true) {
      const reason = await terminationSignal(services.imds);
      if (reason === undefined) {
        deps.logger.info('IMDS shows no termination (a reboot or a stop): staying in the cluster');
        ctx.output.text('not being terminated: nothing to do');
        return;
      }
      deps.logger.info({ reason }, 'this instance is being terminated: leaving the cluster');
    }
    const [{ runFlow }, { leaveFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/leave.js'),
    ]);
    await runFlowCommand(ctx, { flow: 'leave', dryRun: settings.dryRun, timingsKey: 'timings' }, () =>
      runFlow(
        leaveFlow,
        leaveDeps,
        runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.leave),
        { options: leaveOptions },
      ),
    );
  } finally {
    close();
  }
}
