/**
 * InstanceDirectory over `ec2:DescribeInstances`: the state of the instances that etcd members
 * and Node objects map to, by instance id (from the member registry or a Node's providerID) and
 * by private DNS name. Filters, never InstanceIds: an unknown id in InstanceIds fails the whole
 * call (InvalidInstanceID.NotFound), while a filter simply returns nothing for it. Terminated
 * instances stay listed for about an hour, with an empty private DNS name; after that they are
 * absent. Each instance's cluster tag is read (any of kboot's spellings, which no single EC2
 * filter can match), and a name held by another cluster's instance does not count as ours.
 */

import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import type { InstanceDirectory, InstanceFact, InstanceLookup } from '../../domain/cleanup/ports.js';
import { type Ec2InstanceState, INSTANCE_STATES } from '../../domain/cleanup/ports.js';
import { clusterNameFromTags } from '../../domain/identity/tags.js';
import { rethrowAws } from './errors.js';

/** EC2 accepts up to 200 values per filter; smaller pages keep each call quick. */
const VALUES_PER_CALL = 100;
const MAX_PAGES = 20;

function clusterOf(instance: Instance): string | undefined {
  const tags = Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  try {
    return clusterNameFromTags(tags);
  } catch {
    return undefined;
  }
}

function factOf(instance: Instance): InstanceFact | undefined {
  const state = instance.State?.Name;
  if (instance.InstanceId === undefined || !(INSTANCE_STATES as readonly string[]).includes(state ?? '')) {
    return undefined;
  }
  return {
    instanceId: instance.InstanceId,
    state: state as Ec2InstanceState,
    privateDnsName: instance.PrivateDnsName === '' ? undefined : instance.PrivateDnsName,
    privateIp: instance.PrivateIpAddress,
    cluster: clusterOf(instance),
    launchTimeMs: instance.LaunchTime?.getTime(),
  };
}

export class Ec2InstanceDirectory implements InstanceDirectory {
  readonly #ec2: EC2Client;

  constructor(ec2: EC2Client) {
    this.#ec2 = ec2;
  }

  async #describe(filter: string, values: readonly string[], signal?: AbortSignal): Promise<InstanceFact[]> {
    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const out: InstanceFact[] = [];
    for (let start = 0; start < values.length; start += VALUES_PER_CALL) {
      const chunk = values.slice(start, start + VALUES_PER_CALL);
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        try {
          const response = await this.#ec2.send(
            new DescribeInstancesCommand({
              Filters: [{ Name: filter, Values: [...chunk] }],
              MaxResults: 1000,
              ...(nextToken === undefined ? {} : { NextToken: nextToken }),
            }),
            { abortSignal: signal },
          );
          for (const reservation of response.Reservations ?? []) {
            for (const instance of reservation.Instances ?? []) {
              const fact = factOf(instance);
              if (fact !== undefined) out.push(fact);
            }
          }
          nextToken = response.NextToken;
        } catch (error) {
          rethrowAws(
            error,
            `looking up the cluster's instances by ${filter} (ec2:DescribeInstances)`,
            'ec2:DescribeInstances',
          );
        }
        if (nextToken === undefined) break;
      }
    }
    return out;
  }

  async lookup(
    query: { cluster: string; instanceIds: readonly string[]; privateDnsNames: readonly string[] },
    signal?: AbortSignal,
  ): Promise<InstanceLookup> {
    const ids = [...new Set(query.instanceIds)].sort();
    const names = [...new Set(query.privateDnsNames)].sort();
    const [byIdList, byNameList] = await Promise.all([
      ids.length === 0 ? [] : this.#describe('instance-id', ids, signal),
      names.length === 0 ? [] : this.#describe('private-dns-name', names, signal),
    ]);
    const byId = new Map<string, InstanceFact>();
    const byDnsName = new Map<string, InstanceFact>();
    for (const fact of [...byIdList, ...byNameList]) {
      byId.set(fact.instanceId, fact);
      // The cluster tag filters names only: an instance tagged for another cluster got the name
      // from a reused IP. One without a cluster tag still counts (keeping is the safe side).
      const ours = fact.cluster === undefined || fact.cluster === query.cluster;
      if (fact.privateDnsName !== undefined && fact.state !== 'terminated' && ours) {
        byDnsName.set(fact.privateDnsName, fact);
      }
    }
    return { byId, byDnsName };
  }
}
