/**
 * Discovery of the cluster's API endpoint when no `kboot cluster create` recorded it and the
 * node config does not give it: the DNS name of the load balancer tagged for the cluster
 * (`kubernetes.io/cluster/<name>` or `kboot.io/cluster=<name>`, as the other tools that made the
 * cluster's AWS resources tag it). Load balancers the AWS cloud-controller-manager creates for
 * Services carry the cluster tag too; they also carry `kubernetes.io/service-name`, and are skipped.
 */

import {
  DescribeTagsCommand,
  type ElasticLoadBalancingV2Client,
  paginateDescribeLoadBalancers,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ConfigError } from '../../core/errors.js';
import { CLUSTER_TAG_PREFIX, KBOOT_CLUSTER_TAG } from '../../domain/identity/tags.js';
import { rethrowAws } from './errors.js';

const TAGS_PER_CALL = 20;
const SERVICE_TAG = 'kubernetes.io/service-name';

export interface ClusterLoadBalancer {
  arn: string;
  dnsName: string;
}

function taggedFor(tags: Record<string, string>, cluster: string): boolean {
  if (tags[SERVICE_TAG] !== undefined) return false;
  return tags[`${CLUSTER_TAG_PREFIX}${cluster}`] !== undefined || tags[KBOOT_CLUSTER_TAG] === cluster;
}

/** The one load balancer tagged for the cluster, or undefined when there is none. */
export async function findClusterLoadBalancer(
  elbv2: ElasticLoadBalancingV2Client,
  cluster: string,
): Promise<ClusterLoadBalancer | undefined> {
  const all: ClusterLoadBalancer[] = [];
  try {
    for await (const page of paginateDescribeLoadBalancers({ client: elbv2 }, {})) {
      for (const lb of page.LoadBalancers ?? []) {
        if (lb.LoadBalancerArn !== undefined && lb.DNSName !== undefined) {
          all.push({ arn: lb.LoadBalancerArn, dnsName: lb.DNSName });
        }
      }
    }
    const found: ClusterLoadBalancer[] = [];
    for (let index = 0; index < all.length; index += TAGS_PER_CALL) {
      const batch = all.slice(index, index + TAGS_PER_CALL);
      const out = await elbv2.send(new DescribeTagsCommand({ ResourceArns: batch.map((lb) => lb.arn) }));
      for (const description of out.TagDescriptions ?? []) {
        const tags = Object.fromEntries(
          (description.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']),
        );
        const lb = batch.find((candidate) => candidate.arn === description.ResourceArn);
        if (lb !== undefined && taggedFor(tags, cluster)) found.push(lb);
      }
    }
    if (found.length > 1) {
      throw new ConfigError(
        `${found.length} load balancers are tagged for cluster "${cluster}" (${found.map((lb) => lb.dnsName).join(', ')})`,
        { hint: 'set apiEndpoint in /etc/kboot/config.yaml to the API load balancer, or untag the others' },
      );
    }
    return found[0];
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    rethrowAws(
      error,
      `looking for the API load balancer of cluster "${cluster}"`,
      'elasticloadbalancing:DescribeLoadBalancers and elasticloadbalancing:DescribeTags',
    );
  }
}
