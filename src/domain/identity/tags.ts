/**
 * Who an instance is, from its tags (DESIGN.md "Instance identity"):
 * - cluster name: the key of `kubernetes.io/cluster/<name>` (value `owned` or `shared`), or the
 *   value of `kboot.io/cluster`; two different names are an error;
 * - role: `kboot.io/role` = control-plane | worker (aliases master | node); never defaulted.
 *
 * Instance metadata tags: AWS serves tags through IMDS only when every tag key of the instance
 * uses letters, digits and `+ - = . , _ : @` — no "/" — and refuses to enable them otherwise.
 * So an instance that reads its tags from IMDS carries IMDS-safe spellings of the same facts:
 * `KubernetesCluster=<name>` (the AWS cloud provider's legacy cluster tag, which it still
 * recognizes), `kboot.io:cluster`, `kboot.io:role` and `kboot.io:table`. Both spellings are
 * accepted everywhere; the "/" ones need `ec2:DescribeTags`.
 * Pure: tags in, identity or a UsageError naming the tag out.
 */

import { UsageError } from '../../core/errors.js';

export const CLUSTER_TAG_PREFIX = 'kubernetes.io/cluster/';
export const KBOOT_CLUSTER_TAG = 'kboot.io/cluster';
export const ROLE_TAG = 'kboot.io/role';
export const TABLE_TAG = 'kboot.io/table';
/** IMDS-safe spellings (no "/"), for instances with instance metadata tags enabled. */
export const LEGACY_CLUSTER_TAG = 'KubernetesCluster';
export const KBOOT_CLUSTER_TAG_IMDS = 'kboot.io:cluster';
export const ROLE_TAG_IMDS = 'kboot.io:role';
export const TABLE_TAG_IMDS = 'kboot.io:table';

/** Tags whose value names the cluster. */
const CLUSTER_VALUE_TAGS = [KBOOT_CLUSTER_TAG, KBOOT_CLUSTER_TAG_IMDS, LEGACY_CLUSTER_TAG] as const;
const ROLE_TAGS = [ROLE_TAG, ROLE_TAG_IMDS] as const;
const TABLE_TAGS = [TABLE_TAG, TABLE_TAG_IMDS] as const;
const VALUE_TAGS: ReadonlySet<string> = new Set([...CLUSTER_VALUE_TAGS, ...ROLE_TAGS, ...TABLE_TAGS]);
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
  return keys.filter((key) => VALUE_TAGS.has(key));
}

function firstTag(
  tags: Readonly<Record<string, string | undefined>>,
  keys: readonly string[],
): { key: string; value: string } | undefined {
  for (const key of keys) {
    const value = tags[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
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
  for (const key of CLUSTER_VALUE_TAGS) {
    const value = tags[key];
    if (value !== undefined)
      found.push({ name: validateClusterName(value, `tag ${key}`), source: `tag ${key}` });
  }
  const first = found[0];
  if (first === undefined) {
    throw new UsageError(
      `this instance has no cluster tag (${CLUSTER_TAG_PREFIX}<name> or ${KBOOT_CLUSTER_TAG})`,
      {
        hint:
          `tag the instance (or its launch template) with ${CLUSTER_TAG_PREFIX}<cluster>=owned, or, when instance ` +
          `metadata tags are enabled, ${LEGACY_CLUSTER_TAG}=<cluster>`,
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

/**
 * The role from whichever role tag is present (`kboot.io/role` or `kboot.io:role`). Both present
 * must mean the same role (aliases allowed): a disagreement is an error naming both tags, never a
 * silent pick of one.
 */
export function roleFromTags(tags: Readonly<Record<string, string | undefined>>): Role {
  const found = firstTag(tags, ROLE_TAGS);
  const role = parseRole(found?.value, found?.key);
  for (const key of ROLE_TAGS) {
    const value = tags[key];
    if (found === undefined || key === found.key || value === undefined) continue;
    if (parseRole(value, key) !== role) {
      throw new UsageError(
        `this instance has two role tags that disagree: ${found.key}=${found.value} and ${key}=${value}`,
        { hint: `keep one role tag, or give both the same role (${ROLES.join(' or ')})` },
      );
    }
  }
  return role;
}

/** The table from whichever table tag is present; both present must name the same table. */
export function tableFromTags(tags: Readonly<Record<string, string | undefined>>): string | undefined {
  const found = firstTag(tags, TABLE_TAGS);
  for (const key of TABLE_TAGS) {
    const value = tags[key];
    if (found === undefined || key === found.key || value === undefined) continue;
    if (value !== found.value) {
      throw new UsageError(
        `this instance has two table tags that disagree: ${found.key}=${found.value} and ${key}=${value}`,
        { hint: 'keep one table tag, or give both the same table name' },
      );
    }
  }
  return found?.value;
}

export function parseRole(value: string | undefined, tag: string = ROLE_TAG): Role {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`this instance has no ${ROLE_TAG} tag`, {
      hint:
        `tag the instance (or its launch template) with ${ROLE_TAG}=control-plane or ${ROLE_TAG}=worker ` +
        `(${ROLE_TAG_IMDS} when instance metadata tags are enabled)`,
    });
  }
  const role = ROLE_ALIASES[value.trim().toLowerCase()];
  if (role === undefined) {
    throw new UsageError(`tag ${tag} has unknown value "${value}"`, {
      hint: `set it to control-plane or worker (aliases: master, node)`,
    });
  }
  return role;
}
