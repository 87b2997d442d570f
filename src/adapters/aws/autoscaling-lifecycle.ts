/**
 * The LifecycleActions port over Auto Scaling: DescribeAutoScalingInstances (this instance's
 * group), DescribeLifecycleHooks (the group's termination hook and its heartbeat timeout),
 * RecordLifecycleActionHeartbeat and CompleteLifecycleAction. A lifecycle action is named by its
 * token when the caller knows it, else by the instance id (Auto Scaling accepts either).
 */

import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { InternalError } from '../../core/errors.js';
import type {
  AutoScalingMembership,
  CompleteOutcome,
  LifecycleActionRef,
  LifecycleActions,
  LifecycleHookInfo,
} from '../../domain/leave/lifecycle.js';
import { awsErrorName, classifyAwsError } from './errors.js';

/** Auto Scaling's answer when no lifecycle action waits on the hook for the instance. */
const NO_ACTIVE_ACTION = /no active lifecycle action/i;

function fail(error: unknown, doing: string, permission: string): never {
  const message = error instanceof Error ? error.message : String(error);
  throw (
    classifyAwsError(error, doing, permission) ??
    new InternalError(`AWS rejected ${doing}: ${awsErrorName(error) ?? 'error'}: ${message}`, {
      cause: error,
      hint: 'rerun with --log-level debug and report the output if it persists',
    })
  );
}

function actionParams(action: LifecycleActionRef) {
  return {
    AutoScalingGroupName: action.groupName,
    LifecycleHookName: action.hookName,
    ...(action.token === undefined
      ? { InstanceId: action.instanceId }
      : { LifecycleActionToken: action.token, InstanceId: action.instanceId }),
  };
}

export class AutoScalingLifecycleActions implements LifecycleActions {
  readonly #client: AutoScalingClient;

  constructor(client: AutoScalingClient) {
    this.#client = client;
  }

  async findGroup(instanceId: string, signal?: AbortSignal): Promise<AutoScalingMembership | undefined> {
    try {
      const out = await this.#client.send(
        new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
        {
          abortSignal: signal,
        },
      );
      const found = out.AutoScalingInstances?.find((instance) => instance.InstanceId === instanceId);
      if (found?.AutoScalingGroupName === undefined) return undefined;
      return { groupName: found.AutoScalingGroupName, lifecycleState: found.LifecycleState ?? 'unknown' };
    } catch (error) {
      fail(
        error,
        `finding the Auto Scaling group of ${instanceId}`,
        'autoscaling:DescribeAutoScalingInstances',
      );
    }
  }

  async findHook(
    groupName: string,
    hookName: string,
    signal?: AbortSignal,
  ): Promise<LifecycleHookInfo | undefined> {
    try {
      const out = await this.#client.send(
        new DescribeLifecycleHooksCommand({
          AutoScalingGroupName: groupName,
          LifecycleHookNames: [hookName],
        }),
        { abortSignal: signal },
      );
      const hook = out.LifecycleHooks?.find((candidate) => candidate.LifecycleHookName === hookName);
      if (hook === undefined) return undefined;
      return {
        name: hookName,
        transition: hook.LifecycleTransition ?? 'unknown',
        heartbeatTimeoutSeconds: hook.HeartbeatTimeout ?? 3600,
        defaultResult: hook.DefaultResult ?? 'ABANDON',
      };
    } catch (error) {
      fail(
        error,
        `reading lifecycle hook ${hookName} of Auto Scaling group ${groupName}`,
        'autoscaling:DescribeLifecycleHooks',
      );
    }
  }

  async recordHeartbeat(action: LifecycleActionRef, signal?: AbortSignal): Promise<void> {
    try {
      await this.#client.send(new RecordLifecycleActionHeartbeatCommand(actionParams(action)), {
        abortSignal: signal,
      });
    } catch (error) {
      fail(
        error,
        `recording a heartbeat for lifecycle hook ${action.hookName} of ${action.instanceId}`,
        'autoscaling:RecordLifecycleActionHeartbeat',
      );
    }
  }

  async complete(
    action: LifecycleActionRef,
    result: 'CONTINUE' | 'ABANDON',
    signal?: AbortSignal,
  ): Promise<CompleteOutcome> {
    try {
      await this.#client.send(
        new CompleteLifecycleActionCommand({ ...actionParams(action), LifecycleActionResult: result }),
        { abortSignal: signal },
      );
      return 'completed';
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (awsErrorName(error) === 'ValidationError' && NO_ACTIVE_ACTION.test(message))
        return 'no-active-action';
      fail(
        error,
        `completing lifecycle hook ${action.hookName} of ${action.instanceId}`,
        'autoscaling:CompleteLifecycleAction',
      );
    }
  }
}
