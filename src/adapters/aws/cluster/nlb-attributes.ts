/**
 * The attributes kboot sets on the API endpoint's load balancer and target group (the constants
 * below say why), how a resource a killed create left gets them, and how a drift in them shows;
 * the tags of an elbv2 resource.
 */

import {
  DescribeLoadBalancerAttributesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  type ElasticLoadBalancingV2Client,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Drift, ResourceRecord } from '../../../domain/cluster/resource.js';
import { rethrowAws } from '../errors.js';
import { differs, fromAwsTags, type ResolvedSettings, toAwsTags } from './provider-kit.js';

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

export const LB_ATTRIBUTES: AttributeKind = {
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

export const TG_ATTRIBUTES: AttributeKind = {
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
export async function completeAttributes(
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

export async function attributeDrift(
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

export async function tagsOf(elbv2: ElasticLoadBalancingV2Client, arn: string, signal: AbortSignal) {
  const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }), { abortSignal: signal });
  return fromAwsTags(out.TagDescriptions?.[0]?.Tags);
}
