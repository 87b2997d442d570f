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
  type ProviderSettings,
  type ResolvedSettings,
  record,
  refuseUnlessOurs,
  resolveSettings,
  toAwsTags,
  unlessNotFound,
  waitUntil,
} from './provider-kit.js';

const LB_NOT_FOUND = new Set(['LoadBalancerNotFoundException']);
const TG_NOT_FOUND = new Set(['TargetGroupNotFoundException']);
/** A listener is gone when it is, or when its load balancer is. */
const LISTENER_NOT_FOUND = new Set(['ListenerNotFoundException', 'LoadBalancerNotFoundException']);

/**
 * Cross-zone load balancing on: every AZ's address of the load balancer reaches every master, so a
 * one-master cluster (or an AZ without a healthy master) still answers wherever DNS points.
 */
const LOAD_BALANCER_ATTRIBUTES = { 'load_balancing.cross_zone.enabled': 'true' } as const;

/**
 * Client IP preservation off: masters (kubeadm on the first one, every kubelet on a master) reach
 * the API through the load balancer, and an internal NLB that preserves the client's IP drops a
 * connection it routes back to the instance that opened it (AWS: no hairpinning with instance
 * targets). The API server then sees the load balancer's address, not the client's.
 */
const TARGET_GROUP_ATTRIBUTES = { 'preserve_client_ip.enabled': 'false' } as const;

type Attributes = { Key?: string | undefined; Value?: string | undefined }[] | undefined;

/** How one kind of elbv2 resource (load balancer, target group) gets and shows its attributes. */
interface AttributeKind {
  what: string;
  want: Readonly<Record<string, string>>;
  /** The IAM actions' stem: elasticloadbalancing:Modify<stem> and Describe<stem>. */
  actions: string;
  set(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal): Promise<unknown>;
  read(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal): Promise<Attributes>;
}

const LB_ATTRIBUTES: AttributeKind = {
  what: 'load balancer',
  want: LOAD_BALANCER_ATTRIBUTES,
  actions: 'LoadBalancerAttributes',
  set: (elbv2, arn, signal) =>
    elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: toAwsTags(LOAD_BALANCER_ATTRIBUTES),
      }),
      { abortSignal: signal },
    ),
  read: async (elbv2, arn, signal) =>
    (
      await elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }), {
        abortSignal: signal,
      })
    ).Attributes,
};

const TG_ATTRIBUTES: AttributeKind = {
  what: 'target group',
  want: TARGET_GROUP_ATTRIBUTES,
  actions: 'TargetGroupAttributes',
  set: (elbv2, arn, signal) =>
    elbv2.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: arn,
        Attributes: toAwsTags(TARGET_GROUP_ATTRIBUTES),
      }),
      { abortSignal: signal },
    ),
  read: async (elbv2, arn, signal) =>
    (
      await elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }), {
        abortSignal: signal,
      })
    ).Attributes,
};

/** A resource a killed create made before its attributes gets them (never an adopted one). */
async function completeAttributes(
  settings: ResolvedSettings,
  kind: AttributeKind,
  found: ResourceRecord,
  signal: AbortSignal,
): Promise<ResourceRecord> {
  if (found.adopted === true) return found;
  try {
    await kind.set(await settings.clients.elbv2(), found.id, signal);
  } catch (error) {
    rethrowAws(
      error,
      `setting the attributes of ${kind.what} ${found.id}`,
      `elasticloadbalancing:Modify${kind.actions}`,
    );
  }
  return found;
}

async function attributeDrift(
  elbv2: ElasticLoadBalancingV2Client,
  kind: AttributeKind,
  arn: string,
  signal: AbortSignal,
): Promise<Drift[]> {
  let have: Attributes;
  try {
    have = await kind.read(elbv2, arn, signal);
  } catch (error) {
    rethrowAws(
      error,
      `reading the attributes of ${kind.what} ${arn}`,
      `elasticloadbalancing:Describe${kind.actions}`,
    );
  }
  const actual = fromAwsTags(have);
  return Object.entries(kind.want).flatMap(([key, value]) =>
    differs(`attributes.${key}`, value, actual[key] ?? '(unset)'),
  );
}

async function tagsOf(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal) {
  const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }), { abortSignal: signal });
  return fromAwsTags(out.TagDescriptions?.[0]?.Tags);
}

async function loadBalancerWhere(
  elbv2: ElasticLoadBalancingV2Client,
  query: { Names: string[] } | { LoadBalancerArns: string[] },
  signal: AbortSignal,
): Promise<LoadBalancer | undefined> {
  const out = await unlessNotFound(LB_NOT_FOUND, () =>
    elbv2.send(new DescribeLoadBalancersCommand(query), { abortSignal: signal }),
  );
  return out?.LoadBalancers?.[0];
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
      const lb = await loadBalancerWhere(elbv2, { Names: [name] }, context.signal);
      if (lb?.LoadBalancerArn === undefined) return undefined;
      const tags = await tagsOf(elbv2, lb.LoadBalancerArn, context.signal);
      refuseUnlessOurs(tags, 'load balancer', name, desired, context);
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
      await LB_ATTRIBUTES.set(elbv2, lb.LoadBalancerArn, context.signal);
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

  async complete(_desired: DesiredResource<NlbProperties>, found: ResourceRecord, context: ResourceContext) {
    return completeAttributes(this.#settings, LB_ATTRIBUTES, found, context.signal);
  }

  async drift(desired: DesiredResource<NlbProperties>, existing: ResourceRecord, context: ResourceContext) {
    const elbv2 = await this.#settings.clients.elbv2();
    let lb: LoadBalancer | undefined;
    try {
      lb = await loadBalancerWhere(elbv2, { LoadBalancerArns: [existing.id] }, context.signal);
    } catch (error) {
      rethrowAws(error, `reading load balancer ${existing.id}`, 'elasticloadbalancing:DescribeLoadBalancers');
    }
    if (lb === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    const subnets = (lb.AvailabilityZones ?? []).map((zone) => zone.SubnetId ?? '').sort();
    const attributes = await attributeDrift(elbv2, LB_ATTRIBUTES, existing.id, context.signal);
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
      const lbs = { LoadBalancerArns: [arn] };
      if ((await loadBalancerWhere(elbv2, lbs, context.signal)) === undefined) return 'already-gone';
      await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }), {
        abortSignal: context.signal,
      });
      await waitUntil(
        this.#settings,
        `load balancer ${arn} to go away`,
        async () => {
          const lb = await loadBalancerWhere(elbv2, lbs, context.signal);
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

async function listenersOf(
  elbv2: ElasticLoadBalancingV2Client,
  query: { LoadBalancerArn: string } | { ListenerArns: string[] },
  signal: AbortSignal,
): Promise<Listener[]> {
  const out = await unlessNotFound(LISTENER_NOT_FOUND, () =>
    elbv2.send(new DescribeListenersCommand(query), { abortSignal: signal }),
  );
  return out?.Listeners ?? [];
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
      refuseUnlessOurs(tags, 'listener', `${lbArn} port ${API_PORT}`, desired, context);
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
      if (awsErrorName(error) === 'ListenerNotFoundException') return 'already-gone';
      rethrowAws(
        error,
        `deleting listener ${existing.id}`,
        'elasticloadbalancing:DescribeListeners and elasticloadbalancing:DeleteListener',
      );
    }
  }
}
