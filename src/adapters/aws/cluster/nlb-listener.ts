/**
 * The listener between the API endpoint's load balancer and its target group (`nlb-listener`):
 * found again by its port on the load balancer.
 */

import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { API_PORT, type NlbListenerProperties } from '../../../domain/cluster/compute.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import { tagsOf } from './nlb-attributes.js';
import {
  dependencyOutput,
  differs,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  refuseUnlessOurs,
  resolveSettings,
  toAwsTags,
  unlessNotFound,
} from './provider-kit.js';

/** A listener is gone when it is, or when its load balancer is. */
const LISTENER_NOT_FOUND = new Set(['ListenerNotFoundException', 'LoadBalancerNotFoundException']);

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
