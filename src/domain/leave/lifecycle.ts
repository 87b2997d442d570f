/**
 * The port through which `kboot leave` sees Auto Scaling: which group this instance is in and
 * whether the group has kboot's termination hook, then heartbeats and the completion of the
 * lifecycle action. The adapter is autoscaling-lifecycle.ts, with the AWS adapters.
 */

export interface AutoScalingMembership {
  groupName: string;
  /** Auto Scaling's lifecycle state of the instance ("InService", "Terminating:Wait", ...). */
  lifecycleState: string;
}

export interface LifecycleHookInfo {
  name: string;
  transition: string;
  heartbeatTimeoutSeconds: number;
  defaultResult: string;
}

/** Which lifecycle action: the token when known (from the notification), else the instance id. */
export interface LifecycleActionRef {
  groupName: string;
  hookName: string;
  instanceId: string;
  token?: string;
}

export type CompleteOutcome = 'completed' | 'no-active-action';

export interface LifecycleActions {
  /** Undefined when the instance is in no Auto Scaling group. */
  findGroup(instanceId: string, signal?: AbortSignal): Promise<AutoScalingMembership | undefined>;
  /** Undefined when the group has no hook of that name. */
  findHook(groupName: string, hookName: string, signal?: AbortSignal): Promise<LifecycleHookInfo | undefined>;
  recordHeartbeat(action: LifecycleActionRef, signal?: AbortSignal): Promise<void>;
  /** `no-active-action`: nothing waits on the hook (already completed, or it timed out). */
  complete(
    action: LifecycleActionRef,
    result: 'CONTINUE' | 'ABANDON',
    signal?: AbortSignal,
  ): Promise<CompleteOutcome>;
}
