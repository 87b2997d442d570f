/**
 * The cluster's API endpoint: a network load balancer (`nlb`), a TCP 6443 target group the
 * control-plane Auto Scaling group registers its instances in (`nlb-target-group`), and the
 * listener between them (`nlb-listener`). The load balancer carries `kubernetes.io/cluster/<name>`
 * like every resource kboot makes, which is how a first master finds the endpoint when no cluster
 * record names it (elbv2-api-endpoint.ts). Cross-zone load balancing is on and the target group
 * does not preserve client IPs (nlb-attributes.ts says why); `complete` sets both again on what a
 * killed create left. Found again by their deterministic names (the listener: by its port on the
 * load balancer), checked against kboot's tags.
 */

import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigError } from '../../../core/errors.js';
import type { NlbProperties } from '../../../domain/cluster/compute.js';
import type {
  DeleteOutcome,
  DesiredResource,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { rethrowAws } from '../errors.js';
import { attributeDrift, completeAttributes, LB_ATTRIBUTES, tagsOf } from './nlb-attributes.js';
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

const LB_NOT_FOUND = new Set(['LoadBalancerNotFoundException']);

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
