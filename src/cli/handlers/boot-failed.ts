/**
 * `kboot boot-failed`: run by kboot-boot-failed.service when kboot-boot.service has failed for
 * good (OnFailure=). Reads the failed unit's result from systemd's MONITOR_* variables, logs the
 * reason, records it as the cluster record's lastFailure (when the cluster has a record), and,
 * when the restart budget was spent, marks the instance unhealthy in its Auto Scaling group
 * (SetInstanceHealth), which then replaces it (src/domain/replace/stuck-boot.ts says when).
 */

import { SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { awsErrorName, classifyAwsError } from '../../adapters/aws/errors.js';
import { InternalError } from '../../core/errors.js';
import { monitorEnv, stuckBootDecision } from '../../domain/replace/stuck-boot.js';
import type { CommandContext, OutputFormat } from '../context.js';
import { instanceServices } from '../instance.js';

export interface BootFailedOptions {
  output?: OutputFormat;
}

/** The step name lastFailure carries for a boot that was given up. */
export const STUCK_BOOT_STEP = 'boot-retries-spent';

export interface BootFailedResult {
  instanceId: string;
  cluster: string;
  replace: boolean;
  reason: string;
  /** Whether lastFailure was written (a cluster that was never initialized has no record). */
  recorded: boolean;
  /** Whether Auto Scaling took the health change (false: not in a group, or not replacing). */
  markedUnhealthy: boolean;
}

export async function bootFailedCommand(_options: BootFailedOptions, ctx: CommandContext): Promise<void> {
  const decision = stuckBootDecision(monitorEnv(ctx.env));
  const services = instanceServices(ctx);
  try {
    const identity = await services.identity();
    const instanceId = identity.instance.instanceId;
    const cluster = identity.clusterName;
    const logger = ctx.logger.child({ cluster, instanceId });
    logger.error({ replace: decision.replace }, decision.reason);

    const aws = await services.aws();
    let recorded = false;
    if (identity.role === 'worker') {
      // A worker's role reads the cluster record and never writes it (least privilege): the
      // reason stays in this unit's journal.
      logger.debug('a worker does not write the cluster record: lastFailure not recorded');
    } else {
      try {
        const { DynamoDbClusterStore } = await import('../../adapters/aws/dynamodb-cluster-store.js');
        const store = new DynamoDbClusterStore({
          dynamodb: await aws.dynamodb(),
          tableName: await services.table(),
          clock: ctx.clock,
        });
        await store.recordFailure(
          cluster,
          {
            by: instanceId,
            at: new Date(ctx.clock.nowMs()).toISOString(),
            step: STUCK_BOOT_STEP,
            message: decision.reason,
          },
          ctx.signal,
        );
        recorded = true;
      } catch (error) {
        ctx.signal.throwIfAborted();
        // Recording is a courtesy: a cluster without a record, or a table kboot cannot write, must
        // not keep a stuck instance from being replaced.
        logger.warn({ err: error }, 'could not record the failure in the cluster record');
      }
    }

    let markedUnhealthy = false;
    if (decision.replace) {
      const autoScaling = await aws.autoScaling();
      const { AutoScalingLifecycleActions } = await import('../../adapters/aws/autoscaling-lifecycle.js');
      const group = await new AutoScalingLifecycleActions(autoScaling).findGroup(instanceId, ctx.signal);
      if (group === undefined) {
        logger.warn(
          'this instance is not in an Auto Scaling group: nothing will replace it; terminate it, or fix the cause and `systemctl restart kboot-boot`',
        );
      } else {
        try {
          await autoScaling.send(
            new SetInstanceHealthCommand({
              InstanceId: instanceId,
              HealthStatus: 'Unhealthy',
              // The budget (>= 15.5 min) outlasts kboot cluster create's 15-minute grace period;
              // a group with a longer one must not keep a node that will never join.
              ShouldRespectGracePeriod: false,
            }),
            { abortSignal: ctx.signal },
          );
        } catch (error) {
          throw (
            classifyAwsError(error, 'marking the instance unhealthy', 'autoscaling:SetInstanceHealth') ??
            new InternalError(
              `Auto Scaling rejected SetInstanceHealth: ${awsErrorName(error) ?? String(error)}`,
              {
                cause: error,
              },
            )
          );
        }
        markedUnhealthy = true;
        logger.info(
          { group: group.groupName },
          'marked unhealthy: the Auto Scaling group replaces this instance',
        );
      }
    }

    const result: BootFailedResult = {
      instanceId,
      cluster,
      replace: decision.replace,
      reason: decision.reason,
      recorded,
      markedUnhealthy,
    };
    if (ctx.output.format === 'json') ctx.output.json(result);
    else
      ctx.output.text(
        markedUnhealthy
          ? `${instanceId}: marked unhealthy; its Auto Scaling group replaces it (${decision.reason})`
          : `${instanceId}: not replaced (${decision.reason})`,
      );
  } finally {
    services.close();
  }
}
