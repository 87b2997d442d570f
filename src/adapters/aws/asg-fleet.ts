/**
 * The roll's Fleet (src/domain/upgrade/roll-ports.ts) over Auto Scaling and EC2: the cluster's
 * groups' instances (DescribeAutoScalingGroups for membership and lifecycle state,
 * DescribeInstances by instance-id filter for image, architecture, launch time and private DNS
 * name), a surge (desired + 1, the maximum raised to fit), and terminate-and-wait through the
 * group (TerminateInstanceInAutoScalingGroup, so the termination lifecycle hook runs `kboot
 * leave`). After a decrement the maximum comes back down to the group's spec. Terminate-and-wait
 * rather than an instance refresh: kboot decides the order and gates between instances itself,
 * and moto does not implement StartInstanceRefresh (docs/upgrades.md).
 */

import {
  type AutoScalingClient,
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { StateConflictError } from '../../core/errors.js';
import { ARCHITECTURES, type Architecture } from '../../domain/upgrade/record.js';
import type { Fleet, FleetInstance } from '../../domain/upgrade/roll-ports.js';
import { rethrowAws } from './errors.js';

export interface FleetGroup {
  /** The Auto Scaling group's name. */
  name: string;
  role: 'control-plane' | 'worker';
  /** Its maximum in the spec: where a surge's raised maximum comes back to. */
  specMaxSize: number;
}

const PER_CALL = 100;

export class AsgFleet implements Fleet {
  readonly #groups: readonly FleetGroup[];
  readonly #autoScaling: () => Promise<AutoScalingClient>;
  readonly #ec2: () => Promise<EC2Client>;

  constructor(
    groups: readonly FleetGroup[],
    autoScaling: () => Promise<AutoScalingClient>,
    ec2: () => Promise<EC2Client>,
  ) {
    this.#groups = groups;
    this.#autoScaling = autoScaling;
    this.#ec2 = ec2;
  }

  async #describeGroups(names: readonly string[], signal: AbortSignal): Promise<AutoScalingGroup[]> {
    const client = await this.#autoScaling();
    const out: AutoScalingGroup[] = [];
    try {
      let NextToken: string | undefined;
      do {
        const page = await client.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [...names], NextToken }),
          { abortSignal: signal },
        );
        out.push(...(page.AutoScalingGroups ?? []));
        NextToken = page.NextToken;
      } while (NextToken !== undefined);
    } catch (error) {
      rethrowAws(
        error,
        `reading Auto Scaling groups ${names.join(', ')}`,
        'autoscaling:DescribeAutoScalingGroups',
      );
    }
    return out;
  }

  async #group(name: string, signal: AbortSignal): Promise<AutoScalingGroup> {
    const [group] = await this.#describeGroups([name], signal);
    if (group === undefined) {
      throw new StateConflictError(`the Auto Scaling group ${name} is gone`, {
        hint: "run 'kboot cluster create' with the cluster's spec to bring its groups back, then upgrade again",
      });
    }
    return group;
  }

  async #describeInstances(ids: readonly string[], signal: AbortSignal): Promise<Map<string, Instance>> {
    const ec2 = await this.#ec2();
    const out = new Map<string, Instance>();
    try {
      for (let start = 0; start < ids.length; start += PER_CALL) {
        let NextToken: string | undefined;
        do {
          const page = await ec2.send(
            new DescribeInstancesCommand({
              Filters: [{ Name: 'instance-id', Values: ids.slice(start, start + PER_CALL) }],
              NextToken,
            }),
            { abortSignal: signal },
          );
          for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? []))
            if (instance.InstanceId !== undefined) out.set(instance.InstanceId, instance);
          NextToken = page.NextToken;
        } while (NextToken !== undefined);
      }
    } catch (error) {
      rethrowAws(error, 'reading the cluster instances', 'ec2:DescribeInstances');
    }
    return out;
  }

  /** Architecture per image, for instances whose own answer lacks it. */
  async #imageArchitectures(imageIds: readonly string[], signal: AbortSignal): Promise<Map<string, string>> {
    if (imageIds.length === 0) return new Map();
    const ec2 = await this.#ec2();
    try {
      const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [...imageIds] }), {
        abortSignal: signal,
      });
      return new Map((out.Images ?? []).map((image) => [image.ImageId ?? '', image.Architecture ?? '']));
    } catch (error) {
      rethrowAws(error, `reading images ${imageIds.join(', ')}`, 'ec2:DescribeImages');
    }
  }

  async instances(signal: AbortSignal): Promise<FleetInstance[]> {
    const groups = await this.#describeGroups(
      this.#groups.map((g) => g.name),
      signal,
    );
    const members = groups.flatMap((group) =>
      (group.Instances ?? []).map((instance) => ({ group: group.AutoScalingGroupName ?? '', instance })),
    );
    const details = await this.#describeInstances(
      members.map((m) => m.instance.InstanceId ?? ''),
      signal,
    );
    const missingArch = [
      ...new Set(
        [...details.values()].filter((i) => i.Architecture === undefined).map((i) => i.ImageId ?? ''),
      ),
    ].filter(Boolean);
    const imageArch = await this.#imageArchitectures(missingArch, signal);
    const out: FleetInstance[] = [];
    for (const { group, instance } of members) {
      const id = instance.InstanceId ?? '';
      const detail = details.get(id);
      const role = this.#groups.find((g) => g.name === group)?.role;
      if (detail === undefined || role === undefined) continue;
      const arch = detail.Architecture ?? imageArch.get(detail.ImageId ?? '');
      if (!(ARCHITECTURES as readonly string[]).includes(arch ?? '')) {
        throw new StateConflictError(
          `instance ${id} of ${group} runs image ${detail.ImageId}, whose architecture (${arch ?? 'unknown'}) kboot cannot tell`,
          { hint: 'replace the instance by hand, or restore the image, then upgrade again' },
        );
      }
      out.push({
        instanceId: id,
        role,
        ...(role === 'worker' ? { group } : {}),
        arch: arch as Architecture,
        imageId: detail.ImageId ?? '',
        launchedAt: (detail.LaunchTime ?? new Date(0)).toISOString(),
        groupName: group,
        lifecycleState: instance.LifecycleState ?? 'unknown',
        privateDns: detail.PrivateDnsName ?? '',
      });
    }
    return out;
  }

  async surge(groupName: string, signal: AbortSignal): Promise<{ desired: number }> {
    const group = await this.#group(groupName, signal);
    const desired = (group.DesiredCapacity ?? 0) + 1;
    const client = await this.#autoScaling();
    try {
      await client.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: groupName,
          DesiredCapacity: desired,
          MaxSize: Math.max(group.MaxSize ?? 0, desired),
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      rethrowAws(error, `adding an instance to ${groupName}`, 'autoscaling:UpdateAutoScalingGroup');
    }
    return { desired };
  }

  async terminate(instanceId: string, decrement: boolean, signal: AbortSignal): Promise<void> {
    const client = await this.#autoScaling();
    try {
      const out = await client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceId,
          ShouldDecrementDesiredCapacity: decrement,
        }),
        { abortSignal: signal },
      );
      const groupName = out.Activity?.AutoScalingGroupName ?? this.#groupOf(instanceId);
      if (!decrement || groupName === undefined) return;
      const spec = this.#groups.find((g) => g.name === groupName);
      const group = await this.#group(groupName, signal);
      if (
        spec !== undefined &&
        (group.MaxSize ?? 0) > spec.specMaxSize &&
        (group.DesiredCapacity ?? 0) <= spec.specMaxSize
      ) {
        await client.send(
          new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, MaxSize: spec.specMaxSize }),
          { abortSignal: signal },
        );
      }
    } catch (error) {
      rethrowAws(
        error,
        `terminating ${instanceId} through its Auto Scaling group`,
        'autoscaling:TerminateInstanceInAutoScalingGroup and autoscaling:UpdateAutoScalingGroup',
      );
    }
  }

  #groupOf(_instanceId: string): string | undefined {
    return this.#groups.length === 1 ? this.#groups[0]?.name : undefined;
  }
}
