/**
 * Who an instance is, from its tags (DESIGN.md "Instance identity"):
 * - cluster name: the key of `kubernetes.io/cluster/<name>` (value `owned` or `shared`), or the
 *   value of `kboot.io/cluster`; two different names are an error;
 * - role: `kboot.io/role` = control-plane | worker (aliases master | node); never defaulted.
 * Pure: tags in, identity or a UsageError naming the tag out.
 */

import { UsageError } from '../../core/errors.js';

export const CLUSTER_TAG_PREFIX = 'kubernetes.io/cluster/';
export const KBOOT_CLUSTER_TAG = 'kboot.io/cluster';
export const ROLE_TAG = 'kboot.io/role';
export const TABLE_TAG = 'kboot.io/table';
export const CLUSTER_TAG_VALUES = ['owned', 'shared'] as const;

export const ROLES = ['control-plane', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const ROLE_ALIASES: Record<string, Role> = {
  'control-plane': 'control-plane',
  controlplane: 'control-plane',
  master: 'control-plane',
  worker: 'worker',
  node: 'worker',
};

const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/;

/** Tags a resolver must read the values of (the cluster tag's key is enough on its own). */
export function tagKeysToRead(keys: readonly string[]): string[] {
  return keys.filter((key) => key === ROLE_TAG || key === KBOOT_CLUSTER_TAG || key === TABLE_TAG);
}

export function validateClusterName(name: string, source: string): string {
  if (!CLUSTER_NAME.test(name)) {
    throw new UsageError(`invalid cluster name "${name}" (from ${source})`, {
      hint: 'use letters, digits, ".", "_" or "-", starting with a letter or digit, at most 100 characters',
    });
  }
  return name;
}

/**
 * The cluster name from tag keys and (where read) values. `values` may lack the value of a
 * `kubernetes.io/cluster/<name>` key: its value is checked only when present.
 */
export function clusterNameFromTags(tags: Readonly<Record<string, string | undefined>>): string {
  const found: { name: string; source: string }[] = [];
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith(CLUSTER_TAG_PREFIX)) continue;
    const name = key.slice(CLUSTER_TAG_PREFIX.length);
    if (value !== undefined && value !== '' && !(CLUSTER_TAG_VALUES as readonly string[]).includes(value)) {
      throw new UsageError(`tag ${key} has value "${value}"`, {
        hint: `set it to one of: ${CLUSTER_TAG_VALUES.join(', ')}`,
      });
    }
    found.push({ name: validateClusterName(name, `tag ${key}`), source: `tag ${key}` });
  }
  const kbootName = tags[KBOOT_CLUSTER_TAG];
  if (kbootName !== undefined) {
    found.push({
      name: validateClusterName(kbootName, `tag ${KBOOT_CLUSTER_TAG}`),
      source: `tag ${KBOOT_CLUSTER_TAG}`,
    });
  }
  const first = found[0];
  if (first === undefined) {
    throw new UsageError(
      `this instance has no cluster tag (${CLUSTER_TAG_PREFIX}<name> or ${KBOOT_CLUSTER_TAG})`,
      {
        hint: `tag the instance (or its launch template) with ${CLUSTER_TAG_PREFIX}<cluster>=owned`,
      },
    );
  }
  const other = found.find((entry) => entry.name !== first.name);
  if (other !== undefined) {
    throw new UsageError(
      `this instance is tagged for two clusters: "${first.name}" (${first.source}) and "${other.name}" (${other.source})`,
      { hint: 'keep the cluster tags of one cluster only' },
    );
  }
  return first.name;
}

export function parseRole(value: string | undefined): Role {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`this instance has no ${ROLE_TAG} tag`, {
      hint: `tag the instance (or its launch template) with ${ROLE_TAG}=control-plane or ${ROLE_TAG}=worker`,
    });
  }
  const role = ROLE_ALIASES[value.trim().toLowerCase()];
  if (role === undefined) {
    throw new UsageError(`tag ${ROLE_TAG} has unknown value "${value}"`, {
      hint: `set it to control-plane or worker (aliases: master, node)`,
    });
  }
  return role;
}
