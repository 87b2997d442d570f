/**
 * Resolves who this instance is: facts from IMDS (instance id, region, AZ, private IP and DNS
 * name) and cluster name and role from its tags. Tags come from IMDS instance tags when the
 * launch template enables them (reading only the values kboot needs), otherwise from one
 * `ec2:DescribeTags` call on the instance's own id.
 *
 * Request budget with instance metadata tags on (IMDS-safe tags, see tags.ts): token + identity
 * document + tag listing + the cluster and role tags' values = 5 IMDS requests, zero EC2 calls.
 * The private DNS name (the node name) is read later, only by flows that render kubeadm config.
 */

import type { Logger } from '../../core/logger.js';
import type { Imds, InstanceIdentity } from '../ports/imds.js';
import { clusterNameFromTags, type Role, roleFromTags, tableFromTags, tagKeysToRead } from './tags.js';

export interface Identity {
  instance: InstanceIdentity;
  clusterName: string;
  role: Role;
  /** The `kboot.io/table` tag, if set. */
  tableFromTag: string | undefined;
  tagsSource: 'instance-metadata' | 'ec2:DescribeTags';
}

/** Reads the instance's tags from EC2 (the fallback); made lazily so IMDS-only runs load no EC2 client. */
export type Ec2TagReader = (instanceId: string, region: string) => Promise<Record<string, string>>;

export async function resolveIdentity(
  imds: Imds,
  readEc2Tags: Ec2TagReader,
  logger: Logger,
): Promise<Identity> {
  const [instance, metadataTags] = await Promise.all([
    imds.instanceIdentity(),
    imds.instanceTags({ valuesOf: tagKeysToRead }),
  ]);
  let tags: Record<string, string | undefined>;
  let tagsSource: Identity['tagsSource'];
  if (metadataTags === undefined) {
    logger.info(
      { instanceId: instance.instanceId },
      'instance metadata tags are disabled; reading tags with ec2:DescribeTags',
    );
    tags = await readEc2Tags(instance.instanceId, instance.region);
    tagsSource = 'ec2:DescribeTags';
  } else {
    tags = metadataTags;
    tagsSource = 'instance-metadata';
  }
  const clusterName = clusterNameFromTags(tags);
  const role = roleFromTags(tags);
  const identity: Identity = { instance, clusterName, role, tableFromTag: tableFromTags(tags), tagsSource };
  logger.info(
    { instanceId: instance.instanceId, cluster: clusterName, role, region: instance.region, tagsSource },
    `this instance is a ${role} of cluster ${clusterName}`,
  );
  return identity;
}
