/**
 * The edge of `kboot leave-controller` (kboot-leave-controller.timer on control-plane members):
 * the boot flows' ports plus Auto Scaling (is the instance terminating?) and the leave requests,
 * then the leave-controller flow; prints what it did with each request (a line, the --dry-run
 * plan, or --output json).
 */

import type { LeaveControllerDeps } from '../../domain/flows/leave-controller.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export type LeaveControllerCommandOptions = Pick<FlowEdgeOptions, 'config' | 'dryRun'>;

export async function leaveControllerCommand(
  options: LeaveControllerCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = flowSettings(options, loaded.config, ctx.env);
  const { deps, services, close } = wireFlowDeps(ctx, 'leave-controller', loaded, settings);
  const controllerDeps: LeaveControllerDeps = {
    ...deps,
    lifecycle: async () => {
      const { AutoScalingLifecycleActions } = await import('../../adapters/aws/autoscaling-lifecycle.js');
      return new AutoScalingLifecycleActions(await (await services.aws()).autoScaling());
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
    const [{ runFlow }, { leaveControllerFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/leave-controller.js'),
    ]);
    await runFlowCommand(ctx, { flow: 'leave-controller', dryRun: settings.dryRun }, () =>
      runFlow(
        leaveControllerFlow,
        controllerDeps,
        runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.leave),
        {},
      ),
    );
  } finally {
    close();
  }
}
