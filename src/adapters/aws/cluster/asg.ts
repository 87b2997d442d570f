/**
 * The cluster's Auto Scaling groups (`asg`): the control plane (1 or 3, registered in the API
 * target group so the NLB serves the API) and the worker groups. Each launches its launch
 * template's recorded version and carries the termination lifecycle hook `kboot leave` completes
 * (domain/cluster/lifecycle-hook.ts). The hook is in the create call (AWS then adds it before the
 * first instance launches, so a create killed right after still has it) and put again with
 * PutLifecycleHook (idempotent; what moto simulates), also by `complete` on a group a killed
 * create left. Group tags: kboot's and the cluster tag, not
 * propagated (their keys hold "/", which instances with metadata tags on refuse); the IMDS-safe
 * identity tags propagated at launch. Delete drains first: size 0, wait (bounded, logging
 * progress) until no instance is left, then delete without ForceDelete and wait until it is gone.
 */

import {
  AttachLoadBalancerTargetGroupsCommand,
  type AutoScalingClient,
  type AutoScalingGroup,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
  type Tag,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { ConfigError } from '../../../core/errors.js';
import type { AsgProperties } from '../../../domain/cluster/compute.js';
import { instanceTags } from '../../../domain/cluster/launch-template-data.js';
import { LEAVE_LIFECYCLE_HOOK } from '../../../domain/cluster/lifecycle-hook.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import {
  dependencyOutput,
  differs,
  fromAwsTags,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  refuseUnlessOurs,
  resolveSettings,
  waitUntil,
} from './provider-kit.js';

/** Default grace period: `kubeadm init` on the first master takes minutes (README). */
const DEFAULT_GRACE_SECONDS = 900;

const HOOK = {
  LifecycleHookName: LEAVE_LIFECYCLE_HOOK.name,
  LifecycleTransition: LEAVE_LIFECYCLE_HOOK.transition,
  HeartbeatTimeout: LEAVE_LIFECYCLE_HOOK.heartbeatTimeoutSeconds,
  DefaultResult: LEAVE_LIFECYCLE_HOOK.defaultResult,
};

/** The group's tags: kboot's (not propagated) and the instances' IMDS-safe identity (propagated). */
export function groupTags(
  name: string,
  resourceTags: Readonly<Record<string, string>>,
  identity: Readonly<Record<string, string>>,
): Tag[] {
  const tags: Tag[] = [];
  const common = { ResourceId: name, ResourceType: 'auto-scaling-group' };
  for (const [Key, Value] of Object.entries(resourceTags)) {
    if (identity[Key] === undefined) tags.push({ ...common, Key, Value, PropagateAtLaunch: false });
  }
  for (const [Key, Value] of Object.entries(identity))
    tags.push({ ...common, Key, Value, PropagateAtLaunch: true });
  return tags;
}

async function groupNamed(
  autoScaling: AutoScalingClient,
  name: string,
  signal: AbortSignal,
): Promise<AutoScalingGroup | undefined> {
  const out = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
    {
      abortSignal: signal,
    },
  );
  return out.AutoScalingGroups?.find((group) => group.AutoScalingGroupName === name);
}

export class AsgProvider implements ResourceProvider<AsgProperties> {
  readonly kind = 'asg';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #record(desired: DesiredResource<unknown>, group: AutoScalingGroup): ResourceRecord {
    const name = group.AutoScalingGroupName ?? '';
    const arn = group.AutoScalingGroupARN;
    return record(desired, name, { name, ...(arn === undefined ? {} : { arn }) }, this.#settings.clock, arn);
  }

  async find(desired: DesiredResource<AsgProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const autoScaling = await this.#settings.clients.autoScaling();
    try {
      const group = await groupNamed(autoScaling, name, context.signal);
      if (group === undefined) return undefined;
      refuseUnlessOurs(fromAwsTags(group.Tags), 'Auto Scaling group', name, desired, context);
      return this.#record(desired, group);
    } catch (error) {
      rethrowAws(error, `looking for Auto Scaling group ${name}`, 'autoscaling:DescribeAutoScalingGroups');
    }
  }

  async create(desired: DesiredResource<AsgProperties>, context: ResourceContext) {
    const p = desired.properties;
    if (p.subnetIds.length === 0) {
      throw new ConfigError(`Auto Scaling group ${p.name} needs at least one subnet`, {
        hint: 'list the subnets of the cluster in the spec',
      });
    }
    const launchTemplateId = dependencyOutput(context, p.launchTemplate, ['id']);
    const version = dependencyOutput(context, p.launchTemplate, ['version']);
    const targetGroups =
      p.targetGroup === undefined ? [] : [dependencyOutput(context, p.targetGroup, ['arn'])];
    const autoScaling = await this.#settings.clients.autoScaling();
    try {
      await autoScaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: p.name,
          LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version },
          MinSize: p.minSize,
          MaxSize: p.maxSize,
          DesiredCapacity: p.desiredCapacity,
          VPCZoneIdentifier: p.subnetIds.join(','),
          ...(targetGroups.length > 0 ? { TargetGroupARNs: targetGroups } : {}),
          HealthCheckType: 'EC2',
          HealthCheckGracePeriod: p.healthCheckGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS,
          LifecycleHookSpecificationList: [HOOK],
          Tags: groupTags(
            p.name,
            context.tagsFor(desired.key),
            instanceTags(context.cluster, p.role, p.table),
          ),
        }),
        { abortSignal: context.signal },
      );
      await autoScaling.send(new PutLifecycleHookCommand({ AutoScalingGroupName: p.name, ...HOOK }), {
        abortSignal: context.signal,
      });
      const group = await groupNamed(autoScaling, p.name, context.signal);
      if (group === undefined)
        throw new Error(`Auto Scaling group ${p.name} is not there right after its creation`);
      this.#settings.logger.info(
        { key: desired.key, desiredCapacity: p.desiredCapacity, launchTemplateVersion: version },
        `created Auto Scaling group ${p.name}`,
      );
      return this.#record(desired, group);
    } catch (error) {
      rethrowAws(
        error,
        `creating Auto Scaling group ${p.name}`,
        'autoscaling:CreateAutoScalingGroup, autoscaling:CreateOrUpdateTags, autoscaling:PutLifecycleHook, autoscaling:DescribeAutoScalingGroups, ec2:RunInstances, ec2:CreateTags and iam:PassRole (the instance role)',
      );
    }
  }

  /** A group a killed create made before its PutLifecycleHook gets the hook (never an adopted one). */
  async complete(desired: DesiredResource<AsgProperties>, found: ResourceRecord, context: ResourceContext) {
    if (found.adopted === true) return found;
    const autoScaling = await this.#settings.clients.autoScaling();
    try {
      await autoScaling.send(
        new PutLifecycleHookCommand({ AutoScalingGroupName: desired.properties.name, ...HOOK }),
        { abortSignal: context.signal },
      );
    } catch (error) {
      rethrowAws(
        error,
        `putting the ${HOOK.LifecycleHookName} hook on ${found.id}`,
        'autoscaling:PutLifecycleHook',
      );
    }
    return found;
  }

  /**
   * Brings an existing group to the spec: sizes, subnets, the recorded launch template version
   * (new instances launch with it; running ones stay until replaced, as kboot starts no instance
   * refresh), the API target group and the lifecycle hook. Idempotent.
   */
  async update(
    desired: DesiredResource<AsgProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ): Promise<ResourceRecord> {
    const p = desired.properties;
    const autoScaling = await this.#settings.clients.autoScaling();
    const launchTemplateId = dependencyOutput(context, p.launchTemplate, ['id']);
    const version = dependencyOutput(context, p.launchTemplate, ['version']);
    try {
      await autoScaling.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: existing.id,
          LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version },
          MinSize: p.minSize,
          MaxSize: p.maxSize,
          DesiredCapacity: p.desiredCapacity,
          VPCZoneIdentifier: p.subnetIds.join(','),
        }),
        { abortSignal: context.signal },
      );
      if (p.targetGroup !== undefined) {
        const arn = dependencyOutput(context, p.targetGroup, ['arn']);
        const group = await groupNamed(autoScaling, existing.id, context.signal);
        if (!(group?.TargetGroupARNs ?? []).includes(arn)) {
          await autoScaling.send(
            new AttachLoadBalancerTargetGroupsCommand({
              AutoScalingGroupName: existing.id,
              TargetGroupARNs: [arn],
            }),
            { abortSignal: context.signal },
          );
        }
      }
      await autoScaling.send(new PutLifecycleHookCommand({ AutoScalingGroupName: existing.id, ...HOOK }), {
        abortSignal: context.signal,
      });
      this.#settings.logger.info(
        { key: desired.key, desiredCapacity: p.desiredCapacity, launchTemplateVersion: version },
        `updated Auto Scaling group ${existing.id}`,
      );
      return existing;
    } catch (error) {
      rethrowAws(
        error,
        `updating Auto Scaling group ${existing.id}`,
        'autoscaling:UpdateAutoScalingGroup, autoscaling:AttachLoadBalancerTargetGroups, autoscaling:PutLifecycleHook, ec2:RunInstances and iam:PassRole (the instance role)',
      );
    }
  }

  async drift(desired: DesiredResource<AsgProperties>, existing: ResourceRecord, context: ResourceContext) {
    const p = desired.properties;
    const autoScaling = await this.#settings.clients.autoScaling();
    let group: AutoScalingGroup | undefined;
    let hooks: string[] = [];
    try {
      group = await groupNamed(autoScaling, existing.id, context.signal);
      if (group !== undefined) {
        const out = await autoScaling.send(
          new DescribeLifecycleHooksCommand({ AutoScalingGroupName: existing.id }),
          { abortSignal: context.signal },
        );
        hooks = (out.LifecycleHooks ?? [])
          .filter((hook) => hook.LifecycleTransition === HOOK.LifecycleTransition)
          .map((hook) => hook.LifecycleHookName ?? '');
      }
    } catch (error) {
      rethrowAws(
        error,
        `reading Auto Scaling group ${existing.id}`,
        'autoscaling:DescribeAutoScalingGroups and autoscaling:DescribeLifecycleHooks',
      );
    }
    if (group === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    const outputs = context.outputsOf(p.launchTemplate);
    const drifts: Drift[] = [
      ...differs('minSize', p.minSize, group.MinSize),
      ...differs('maxSize', p.maxSize, group.MaxSize),
      ...differs('desiredCapacity', p.desiredCapacity, group.DesiredCapacity),
      ...differs(
        'subnetIds',
        [...p.subnetIds].sort(),
        (group.VPCZoneIdentifier ?? '').split(',').filter(Boolean).sort(),
      ),
      ...differs('launchTemplate.id', outputs.id, group.LaunchTemplate?.LaunchTemplateId),
      ...differs('launchTemplate.version', outputs.version, group.LaunchTemplate?.Version),
      ...differs(
        'lifecycleHook',
        HOOK.LifecycleHookName,
        hooks.includes(HOOK.LifecycleHookName) ? HOOK.LifecycleHookName : '(none)',
      ),
    ];
    if (p.targetGroup !== undefined) {
      const arn = context.outputsOf(p.targetGroup).arn;
      drifts.push(
        ...differs('targetGroup', arn, (group.TargetGroupARNs ?? []).find((a) => a === arn) ?? '(none)'),
      );
    }
    return drifts;
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const name = existing.id;
    const autoScaling = await this.#settings.clients.autoScaling();
    try {
      const group = await groupNamed(autoScaling, name, context.signal);
      if (group === undefined) return 'already-gone';
      if (group.Status === undefined) {
        await autoScaling.send(
          new UpdateAutoScalingGroupCommand({
            AutoScalingGroupName: name,
            MinSize: 0,
            MaxSize: 0,
            DesiredCapacity: 0,
          }),
          { abortSignal: context.signal },
        );
        this.#settings.logger.info(
          { key: existing.key, instances: group.Instances?.length ?? 0 },
          `draining Auto Scaling group ${name} to zero`,
        );
      }
      let gone = false;
      await waitUntil(
        this.#settings,
        `Auto Scaling group ${name} to have no instances`,
        async () => {
          const now = await groupNamed(autoScaling, name, context.signal);
          if (now === undefined) gone = true;
          const count = now?.Instances?.length ?? 0;
          return { done: count === 0, progress: `${count} instance(s) left` };
        },
        context.signal,
      );
      if (gone) return 'deleted';
      // A destroy killed after its DeleteAutoScalingGroup finds the group already being deleted.
      if (group.Status === undefined) {
        await autoScaling.send(
          new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: false }),
          { abortSignal: context.signal },
        );
      }
      // AWS deletes a group in the background ("Delete in progress"); the target group it was
      // attached to cannot go before it has.
      await waitUntil(
        this.#settings,
        `Auto Scaling group ${name} to be deleted`,
        async () => {
          const now = await groupNamed(autoScaling, name, context.signal);
          return { done: now === undefined, progress: now?.Status ?? 'gone' };
        },
        context.signal,
      );
      return 'deleted';
    } catch (error) {
      if (awsErrorName(error) === 'ValidationError' && /not found/i.test((error as Error).message)) {
        return 'already-gone';
      }
      rethrowAws(
        error,
        `deleting Auto Scaling group ${name}`,
        'autoscaling:DescribeAutoScalingGroups, autoscaling:UpdateAutoScalingGroup and autoscaling:DeleteAutoScalingGroup',
      );
    }
  }
}
