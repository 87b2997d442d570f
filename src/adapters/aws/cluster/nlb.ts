/**
 * The cluster's API endpoint: a network load balancer (`nlb`), a TCP 6443 target group the
 * control-plane Auto Scaling group registers its instances in (`nlb-target-group`), and the
 * listener between them (`nlb-listener`). The load balancer carries `kubernetes.io/cluster/<name>`
 * like every resource kboot makes, which is how a first master finds the endpoint when no cluster
 * record names it (elbv2-api-endpoint.ts). Cross-zone load balancing is on and the target group
 * does not preserve client IPs (the constants below say why); `complete` sets both again on what a
 * killed create left. Found again by their deterministic names (the listener: by its port on the
 * load balancer), checked against kboot's tags.
 */

import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigError } from '../../../core/errors.js';
import {
  API_PORT,
  type NlbListenerProperties,
  type NlbProperties,
  type NlbTargetGroupProperties,
} from '../../../domain/cluster/compute.js';
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
  madeByKboot,
  nameTaken,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  resolveSettings,
  toAwsTags,
  waitUntil,
} from './provider-kit.js';

const LB_NOT_FOUND = 'LoadBalancerNotFoundException';
const TG_NOT_FOUND = 'TargetGroupNotFoundException';
const LISTENER_NOT_FOUND = 'ListenerNotFoundException';

/**
 * Cross-zone load balancing on: every AZ's address of the load balancer reaches every master, so a
 * one-master cluster (or an AZ without a healthy master) still answers wherever DNS points.
 */
export const LOAD_BALANCER_ATTRIBUTES = { 'load_balancing.cross_zone.enabled': 'true' } as const;

/**
 * Client IP preservation off: masters (kubeadm on the first one, every kubelet on a master) reach
 * the API through the load balancer, and an internal NLB that preserves the client's IP drops a
 * connection it routes back to the instance that opened it (AWS: no hairpinning with instance
 * targets). The API server then sees the load balancer's address, not the client's.
 */
export const TARGET_GROUP_ATTRIBUTES = { 'preserve_client_ip.enabled': 'false' } as const;

function attributeList(attributes: Readonly<Record<string, string>>) {
  return Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));
}

function attributeDrift(
  want: Readonly<Record<string, string>>,
  have: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Drift[] {
  const actual = Object.fromEntries((have ?? []).map((a) => [a.Key ?? '', a.Value ?? '']));
  return Object.entries(want).flatMap(([key, value]) =>
    differs(`attributes.${key}`, value, actual[key] ?? '(unset)'),
  );
}

async function tagsOf(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal) {
  const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }), { abortSignal: signal });
  return fromAwsTags(out.TagDescriptions?.[0]?.Tags);
}

async function loadBalancerNamed(
  elbv2: ElasticLoadBalancingV2Client,
  name: string,
  signal: AbortSignal,
): Promise<LoadBalancer | undefined> {
  try {
    const out = await elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }), {
      abortSignal: signal,
    });
    return out.LoadBalancers?.[0];
  } catch (error) {
    if (awsErrorName(error) === LB_NOT_FOUND) return undefined;
    throw error;
  }
}

async function loadBalancerByArn(
  elbv2: ElasticLoadBalancingV2Client,
  arn: string,
  signal: AbortSignal,
): Promise<LoadBalancer | undefined> {
  try {
    const out = await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }), {
      abortSignal: signal,
    });
    return out.LoadBalancers?.[0];
  } catch (error) {
    if (awsErrorName(error) === LB_NOT_FOUND) return undefined;
    throw error;
  }
}

function lbRecord(
  desired: DesiredResource<unknown>,
  lb: LoadBalancer,
  settings: ResolvedSettings,
): ResourceRecord {
  const arn = lb.LoadBalancerArn ?? '';
  return record(desired, arn, { arn, dnsName: lb.DNSName ?? '', vpcId: lb.VpcId ?? '' }, settings.clock, arn);
}

export class NlbProvider implements ResourceProvider<NlbProperties> {
  readonly kind = 'nlb';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  async find(desired: DesiredResource<NlbProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const lb = await loadBalancerNamed(elbv2, name, context.signal);
      if (lb?.LoadBalancerArn === undefined) return undefined;
      const tags = await tagsOf(elbv2, lb.LoadBalancerArn, context.signal);
      if (!madeByKboot(tags, context.cluster, desired.key)) {
        throw nameTaken('load balancer', name, desired, context.cluster);
      }
      return lbRecord(desired, lb, this.#settings);
    } catch (error) {
      rethrowAws(
        error,
        `looking for load balancer ${name}`,
        'elasticloadbalancing:DescribeLoadBalancers and elasticloadbalancing:DescribeTags',
      );
    }
  }

  async create(desired: DesiredResource<NlbProperties>, context: ResourceContext) {
    const { name, scheme, subnetIds } = desired.properties;
    if (subnetIds.length === 0) {
      throw new ConfigError(`load balancer ${name} needs at least one subnet`, {
        hint: 'list the subnets of the cluster in the spec',
      });
    }
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const out = await elbv2.send(
        new CreateLoadBalancerCommand({
          Name: name,
          Type: 'network',
          Scheme: scheme,
          IpAddressType: 'ipv4',
          Subnets: subnetIds,
          Tags: toAwsTags(context.tagsFor(desired.key)),
        }),
        { abortSignal: context.signal },
      );
      const lb = out.LoadBalancers?.[0];
      if (lb?.LoadBalancerArn === undefined) throw new Error('CreateLoadBalancer returned no load balancer');
      await this.#setAttributes(elbv2, lb.LoadBalancerArn, context.signal);
      this.#settings.logger.info(
        { key: desired.key, arn: lb.LoadBalancerArn },
        `created load balancer ${name}`,
      );
      return lbRecord(desired, lb, this.#settings);
    } catch (error) {
      rethrowAws(
        error,
        `creating load balancer ${name}`,
        'elasticloadbalancing:CreateLoadBalancer, elasticloadbalancing:AddTags and elasticloadbalancing:ModifyLoadBalancerAttributes',
      );
    }
  }

  async #setAttributes(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal): Promise<void> {
    await elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: attributeList(LOAD_BALANCER_ATTRIBUTES),
      }),
      { abortSignal: signal },
    );
  }

  /** A load balancer a killed create made before its attributes gets them (never an adopted one). */
  async complete(_desired: DesiredResource<NlbProperties>, found: ResourceRecord, context: ResourceContext) {
    if (found.adopted === true) return found;
    try {
      await this.#setAttributes(await this.#settings.clients.elbv2(), found.id, context.signal);
    } catch (error) {
      rethrowAws(
        error,
        `setting the attributes of load balancer ${found.id}`,
        'elasticloadbalancing:ModifyLoadBalancerAttributes',
      );
    }
    return found;
  }

  async drift(desired: DesiredResource<NlbProperties>, existing: ResourceRecord, context: ResourceContext) {
    const elbv2 = await this.#settings.clients.elbv2();
    let lb: LoadBalancer | undefined;
    try {
      lb = await loadBalancerByArn(elbv2, existing.id, context.signal);
    } catch (error) {
      rethrowAws(error, `reading load balancer ${existing.id}`, 'elasticloadbalancing:DescribeLoadBalancers');
    }
    if (lb === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    const subnets = (lb.AvailabilityZones ?? []).map((zone) => zone.SubnetId ?? '').sort();
    let attributes: Drift[];
    try {
      const out = await elbv2.send(
        new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: existing.id }),
        {
          abortSignal: context.signal,
        },
      );
      attributes = attributeDrift(LOAD_BALANCER_ATTRIBUTES, out.Attributes);
    } catch (error) {
      rethrowAws(
        error,
        `reading the attributes of load balancer ${existing.id}`,
        'elasticloadbalancing:DescribeLoadBalancerAttributes',
      );
    }
    return [
      ...differs('scheme', desired.properties.scheme, lb.Scheme),
      ...differs('subnetIds', [...desired.properties.subnetIds].sort(), subnets),
      ...attributes,
    ];
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const elbv2 = await this.#settings.clients.elbv2();
    const arn = existing.id;
    try {
      if ((await loadBalancerByArn(elbv2, arn, context.signal)) === undefined) return 'already-gone';
      await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }), {
        abortSignal: context.signal,
      });
      await waitUntil(
        this.#settings,
        `load balancer ${arn} to go away`,
        async () => {
          const lb = await loadBalancerByArn(elbv2, arn, context.signal);
          return { done: lb === undefined, progress: `state ${lb?.State?.Code ?? 'gone'}` };
        },
        context.signal,
      );
      return 'deleted';
    } catch (error) {
      rethrowAws(
        error,
        `deleting load balancer ${arn}`,
        'elasticloadbalancing:DescribeLoadBalancers and elasticloadbalancing:DeleteLoadBalancer',
      );
    }
  }
}

async function targetGroupWhere(
  elbv2: ElasticLoadBalancingV2Client,
  query: { Names: string[] } | { TargetGroupArns: string[] },
  signal: AbortSignal,
): Promise<TargetGroup | undefined> {
  try {
    const out = await elbv2.send(new DescribeTargetGroupsCommand(query), { abortSignal: signal });
    return out.TargetGroups?.[0];
  } catch (error) {
    if (awsErrorName(error) === TG_NOT_FOUND) return undefined;
    throw error;
  }
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
export function healthCheckSettings(kind: NlbTargetGroupProperties['healthCheck']) {
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
      if (!madeByKboot(tags, context.cluster, desired.key)) {
        throw nameTaken('target group', name, desired, context.cluster);
      }
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
      await this.#setAttributes(elbv2, tg.TargetGroupArn, context.signal);
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

  async #setAttributes(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal): Promise<void> {
    await elbv2.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: arn,
        Attributes: attributeList(TARGET_GROUP_ATTRIBUTES),
      }),
      { abortSignal: signal },
    );
  }

  /** A target group a killed create made before its attributes gets them (never an adopted one). */
  async complete(
    _desired: DesiredResource<NlbTargetGroupProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    if (found.adopted === true) return found;
    try {
      await this.#setAttributes(await this.#settings.clients.elbv2(), found.id, context.signal);
    } catch (error) {
      rethrowAws(
        error,
        `setting the attributes of target group ${found.id}`,
        'elasticloadbalancing:ModifyTargetGroupAttributes',
      );
    }
    return found;
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
    let attributes: Drift[];
    try {
      const out = await elbv2.send(
        new DescribeTargetGroupAttributesCommand({ TargetGroupArn: existing.id }),
        {
          abortSignal: context.signal,
        },
      );
      attributes = attributeDrift(TARGET_GROUP_ATTRIBUTES, out.Attributes);
    } catch (error) {
      rethrowAws(
        error,
        `reading the attributes of target group ${existing.id}`,
        'elasticloadbalancing:DescribeTargetGroupAttributes',
      );
    }
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
      if (awsErrorName(error) === TG_NOT_FOUND) return 'already-gone';
      rethrowAws(
        error,
        `deleting target group ${existing.id}`,
        'elasticloadbalancing:DescribeTargetGroups and elasticloadbalancing:DeleteTargetGroup',
      );
    }
  }
}

async function listenersOf(
  elbv2: ElasticLoadBalancingV2Client,
  query: { LoadBalancerArn: string } | { ListenerArns: string[] },
  signal: AbortSignal,
): Promise<Listener[]> {
  try {
    const out = await elbv2.send(new DescribeListenersCommand(query), { abortSignal: signal });
    return out.Listeners ?? [];
  } catch (error) {
    const name = awsErrorName(error);
    if (name === LISTENER_NOT_FOUND || name === LB_NOT_FOUND) return [];
    throw error;
  }
}

function forwardsTo(listener: Listener): string | undefined {
  return listener.DefaultActions?.find((action) => action.Type === 'forward')?.TargetGroupArn;
}

export class NlbListenerProvider implements ResourceProvider<NlbListenerProperties> {
  readonly kind = 'nlb-listener';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #listenerRecord(desired: DesiredResource<unknown>, listener: Listener): ResourceRecord {
    const arn = listener.ListenerArn ?? '';
    return record(desired, arn, { arn }, this.#settings.clock, arn);
  }

  async find(desired: DesiredResource<NlbListenerProperties>, context: ResourceContext) {
    const lbArn = dependencyOutput(context, desired.properties.loadBalancer, ['arn']);
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const listener = (await listenersOf(elbv2, { LoadBalancerArn: lbArn }, context.signal)).find(
        (candidate) => candidate.Port === API_PORT,
      );
      if (listener?.ListenerArn === undefined) return undefined;
      const tags = await tagsOf(elbv2, listener.ListenerArn, context.signal);
      if (!madeByKboot(tags, context.cluster, desired.key)) {
        throw nameTaken('listener', `${lbArn} port ${API_PORT}`, desired, context.cluster);
      }
      return this.#listenerRecord(desired, listener);
    } catch (error) {
      rethrowAws(
        error,
        `looking for the port ${API_PORT} listener of ${lbArn}`,
        'elasticloadbalancing:DescribeListeners and elasticloadbalancing:DescribeTags',
      );
    }
  }

  async create(desired: DesiredResource<NlbListenerProperties>, context: ResourceContext) {
    const lbArn = dependencyOutput(context, desired.properties.loadBalancer, ['arn']);
    const tgArn = dependencyOutput(context, desired.properties.targetGroup, ['arn']);
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const out = await elbv2.send(
        new CreateListenerCommand({
          LoadBalancerArn: lbArn,
          Protocol: 'TCP',
          Port: API_PORT,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
          Tags: toAwsTags(context.tagsFor(desired.key)),
        }),
        { abortSignal: context.signal },
      );
      const listener = out.Listeners?.[0];
      if (listener === undefined) throw new Error('CreateListener returned no listener');
      this.#settings.logger.info(
        { key: desired.key, arn: listener.ListenerArn },
        `created listener :${API_PORT}`,
      );
      return this.#listenerRecord(desired, listener);
    } catch (error) {
      rethrowAws(
        error,
        `creating the port ${API_PORT} listener of ${lbArn}`,
        'elasticloadbalancing:CreateListener and elasticloadbalancing:AddTags',
      );
    }
  }

  async drift(
    desired: DesiredResource<NlbListenerProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    const elbv2 = await this.#settings.clients.elbv2();
    let listener: Listener | undefined;
    try {
      listener = (await listenersOf(elbv2, { ListenerArns: [existing.id] }, context.signal))[0];
    } catch (error) {
      rethrowAws(error, `reading listener ${existing.id}`, 'elasticloadbalancing:DescribeListeners');
    }
    if (listener === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    const drifts: Drift[] = [...differs('port', API_PORT, listener.Port)];
    const tgArn = context.outputsOf(desired.properties.targetGroup).arn;
    if (tgArn !== undefined) drifts.push(...differs('targetGroup', tgArn, forwardsTo(listener)));
    return drifts;
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const elbv2 = await this.#settings.clients.elbv2();
    try {
      const found = await listenersOf(elbv2, { ListenerArns: [existing.id] }, context.signal);
      if (found.length === 0) return 'already-gone';
      await elbv2.send(new DeleteListenerCommand({ ListenerArn: existing.id }), {
        abortSignal: context.signal,
      });
      return 'deleted';
    } catch (error) {
      if (awsErrorName(error) === LISTENER_NOT_FOUND) return 'already-gone';
      rethrowAws(
        error,
        `deleting listener ${existing.id}`,
        'elasticloadbalancing:DescribeListeners and elasticloadbalancing:DeleteListener',
      );
    }
  }
}
