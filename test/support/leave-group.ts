/**
 * An Auto Scaling group in moto holding given instances, with kboot's termination lifecycle hook
 * (LEAVE_LIFECYCLE_HOOK, as `kboot cluster create` puts it) unless told otherwise: what
 * `kboot leave` finds with DescribeAutoScalingInstances and DescribeLifecycleHooks.
 */

import {
  AttachInstancesCommand,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  PutLifecycleHookCommand,
} from '@aws-sdk/client-auto-scaling';
import { LEAVE_LIFECYCLE_HOOK } from '../../src/domain/cluster/lifecycle-hook.js';
import type { Moto } from './moto.js';

export async function createLeaveGroup(
  moto: Moto,
  groupName: string,
  instanceIds: readonly string[],
  options: { hook?: boolean } = {},
): Promise<void> {
  const client = new AutoScalingClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  try {
    await client.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: `${groupName}-lc`,
        ImageId: 'ami-12c6146b',
        InstanceType: 't3.micro',
      }),
    );
    await client.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: groupName,
        LaunchConfigurationName: `${groupName}-lc`,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: 0,
        AvailabilityZones: ['us-east-1a'],
      }),
    );
    await client.send(
      new AttachInstancesCommand({ AutoScalingGroupName: groupName, InstanceIds: [...instanceIds] }),
    );
    if (options.hook !== false) {
      await client.send(
        new PutLifecycleHookCommand({
          AutoScalingGroupName: groupName,
          LifecycleHookName: LEAVE_LIFECYCLE_HOOK.name,
          LifecycleTransition: LEAVE_LIFECYCLE_HOOK.transition,
          HeartbeatTimeout: LEAVE_LIFECYCLE_HOOK.heartbeatTimeoutSeconds,
          DefaultResult: LEAVE_LIFECYCLE_HOOK.defaultResult,
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
