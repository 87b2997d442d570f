/**
 * The API endpoint's TCP 6443 target group (`nlb-target-group`), which the control-plane Auto
 * Scaling group registers its instances in; found again by its deterministic name, in the VPC of
 * the subnets it serves, checked against kboot's tags.
 */

import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigError } from '../../../core/errors.js';
import { API_PORT, type NlbTargetGroupProperties } from '../../../domain/cluster/compute.js';
import type {
  DeleteOutcome,
  DesiredResource,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import { attributeDrift, completeAttributes, TG_ATTRIBUTES, tagsOf } from './nlb-attributes.js';
import {
  differs,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  refuseUnlessOurs,
  resolveSettings,
  toAwsTags,
  unlessNotFound,
  waitUntil,
} from './provider-kit.js';

const TG_NOT_FOUND = new Set(['TargetGroupNotFoundException']);

async function targetGroupWhere(
  elbv2: ElasticLoadBalancingV2Client,
  query: { Names: string[] } | { TargetGroupArns: string[] },
  signal: AbortSignal,
): Promise<TargetGroup | undefined> {
  const out = await unlessNotFound(TG_NOT_FOUND, () =>
    elbv2.send(new DescribeTargetGroupsCommand(query), { abortSignal: signal }),
  );
  return out?.TargetGroups?.[0];
}

function tgRecord(
  desired: DesiredResource<unknown>,
  tg: TargetGroup,
  settings: ResolvedSettings,
): ResourceRecord {
  const arn = tg.TargetGroupArn ?? '';
  return record(desired, arn, { arn, name: tg.TargetGroupName ?? '' }, settings.clock, arn);
}

/** The health check settings for the target group: what the API server answers. */
function healthCheckSettings(kind: NlbTargetGroupProperties['healthCheck']) {
  return kind === 'https'
    ? { HealthCheckProtocol: 'HTTPS' as const, HealthCheckPath: '/readyz', HealthCheckPort: 'traffic-port' }
    : { HealthCheckProtocol: 'TCP' as const, HealthCheckPort: 'traffic-port' };
}

export class NlbTargetGroupProvider implements ResourceProvider<NlbTargetGroupProperties> {
  readonly kind = 'nlb-target-group';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  async find(desired: DesiredResource<NlbTargetGroupProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const tg = await targetGroupWhere(elbv2, { Names: [name] }, context.signal);
      if (tg?.TargetGroupArn === undefined) return undefined;
      const tags = await tagsOf(elbv2, tg.TargetGroupArn, context.signal);
      refuseUnlessOurs(tags, 'target group', name, desired, context);
      return tgRecord(desired, tg, this.#settings);
    } catch (error) {
      rethrowAws(
        error,
        `looking for target group ${name}`,
        'elasticloadbalancing:DescribeTargetGroups and elasticloadbalancing:DescribeTags',
      );
    }
  }

  async #vpcOf(properties: NlbTargetGroupProperties, signal: AbortSignal): Promise<string> {
    if (properties.vpcId !== undefined) return properties.vpcId;
    const subnet = properties.subnetIds[0];
    if (subnet === undefined) {
      throw new ConfigError(`target group ${properties.name} needs a VPC or a subnet to find it from`, {
        hint: 'list the subnets of the cluster in the spec',
      });
    }
    const ec2 = await this.#settings.clients.ec2();
    try {
      const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }), {
        abortSignal: signal,
      });
      const vpcId = out.Subnets?.[0]?.VpcId;
      if (vpcId === undefined) throw new Error(`subnet ${subnet} has no VPC`);
      return vpcId;
    } catch (error) {
      if (awsErrorName(error) === 'InvalidSubnetID.NotFound') {
        throw new ConfigError(`subnet ${subnet} does not exist`, {
          cause: error,
          hint: 'correct the subnet ids in the cluster spec',
        });
      }
      rethrowAws(error, `finding the VPC of subnet ${subnet}`, 'ec2:DescribeSubnets');
    }
  }

  async create(desired: DesiredResource<NlbTargetGroupProperties>, context: ResourceContext) {
    const { name, healthCheck } = desired.properties;
    const vpcId = await this.#vpcOf(desired.properties, context.signal);
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const out = await elbv2.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: 'TCP',
          Port: API_PORT,
          VpcId: vpcId,
          TargetType: 'instance',
          ...healthCheckSettings(healthCheck),
          Tags: toAwsTags(context.tagsFor(desired.key)),
        }),
        { abortSignal: context.signal },
      );
      const tg = out.TargetGroups?.[0];
      if (tg?.TargetGroupArn === undefined) throw new Error('CreateTargetGroup returned no target group');
      await TG_ATTRIBUTES.set(elbv2, tg.TargetGroupArn, context.signal);
      this.#settings.logger.info(
        { key: desired.key, arn: tg.TargetGroupArn },
        `created target group ${name}`,
      );
      return tgRecord(desired, tg, this.#settings);
    } catch (error) {
      rethrowAws(
        error,
        `creating target group ${name}`,
        'elasticloadbalancing:CreateTargetGroup, elasticloadbalancing:AddTags and elasticloadbalancing:ModifyTargetGroupAttributes',
      );
    }
  }

  async complete(
    _desired: DesiredResource<NlbTargetGroupProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    return completeAttributes(this.#settings, TG_ATTRIBUTES, found, context.signal);
  }

  async drift(
    desired: DesiredResource<NlbTargetGroupProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    const elbv2 = await this.#settings.clients.elbv2();
    let tg: TargetGroup | undefined;
    try {
      tg = await targetGroupWhere(elbv2, { TargetGroupArns: [existing.id] }, context.signal);
    } catch (error) {
      rethrowAws(error, `reading target group ${existing.id}`, 'elasticloadbalancing:DescribeTargetGroups');
    }
    if (tg === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    const want = healthCheckSettings(desired.properties.healthCheck);
    const attributes = await attributeDrift(elbv2, TG_ATTRIBUTES, existing.id, context.signal);
    return [
      ...attributes,
      ...differs('port', API_PORT, tg.Port),
      ...differs('healthCheck.protocol', want.HealthCheckProtocol, tg.HealthCheckProtocol),
      ...('HealthCheckPath' in want
        ? differs('healthCheck.path', want.HealthCheckPath, tg.HealthCheckPath)
        : []),
    ];
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const tg = await targetGroupWhere(elbv2, { TargetGroupArns: [existing.id] }, context.signal);
      if (tg === undefined) return 'already-gone';
      // A listener or Auto Scaling group that was just deleted can hold it for a moment.
      await waitUntil(
        this.#settings,
        `target group ${existing.id} to be released`,
        async () => {
          try {
            await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: existing.id }), {
              abortSignal: context.signal,
            });
            return { done: true, progress: 'deleted' };
          } catch (error) {
            if (awsErrorName(error) !== 'ResourceInUse' && awsErrorName(error) !== 'ResourceInUseException') {
              throw error;
            }
            return { done: false, progress: 'still in use' };
          }
        },
        context.signal,
      );
      return 'deleted';
    } catch (error) {
      if (TG_NOT_FOUND.has(awsErrorName(error) ?? '')) return 'already-gone';
      rethrowAws(
        error,
        `deleting target group ${existing.id}`,
        'elasticloadbalancing:DescribeTargetGroups and elasticloadbalancing:DeleteTargetGroup',
      );
    }
  }
}
