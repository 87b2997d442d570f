/**
 * The cluster metadata record (DESIGN.md "Cluster state: DynamoDB"): what every instance of a
 * cluster agrees on — API endpoint, CIDRs, Kubernetes version, secret ids — plus the facts the
 * boot flows add later (initialized, last failure, join material stamps). Pure: the schema,
 * parsing that names the bad field, defaults, and the comparison of two records.
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import { adminConfSecretId, controlPlaneSecretId, joinSecretId } from '../join/secret-ids.js';
import { upgradeShape, upgradeVersionMismatch } from '../upgrade/record.js';

/** The newest record layout this kboot reads and writes. */
export const CLUSTER_RECORD_SCHEMA_VERSION = 1;
export const DEFAULT_API_PORT = 6443;

const nonEmpty = z.string().min(1, 'expected a non-empty string');
const isoInstant = z.iso.datetime({
  message: 'expected an ISO 8601 UTC time such as 2025-01-31T12:00:00.000Z',
});

const API_ENDPOINT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;
const KUBERNETES_VERSION = /^v?\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$/;

function isCidr(value: string): boolean {
  return z.cidrv4().safeParse(value).success || z.cidrv6().safeParse(value).success;
}

const apiEndpoint = z.string().refine((value) => {
  const match = API_ENDPOINT.exec(value);
  if (match === null) return false;
  const port = match[1] === undefined ? DEFAULT_API_PORT : Number(match[1]);
  return port >= 1 && port <= 65_535;
}, 'expected a host or host:port such as api.example.com:6443');
const cidr = z.string().refine(isCidr, 'expected a CIDR such as 10.244.0.0/16');
const kubernetesVersion = z.string().regex(KUBERNETES_VERSION, 'expected a version such as 1.31.2');

/**
 * The record's own checks of the fields a node config can set, so `kboot config check` refuses
 * what the first master would later refuse as a malformed record.
 */
export const RECORD_FIELD_SCHEMAS = {
  apiEndpoint,
  podCidr: cidr,
  serviceCidr: cidr,
  kubernetesVersion,
  externalDns: nonEmpty,
} as const;

const secretIds = z.object({ join: nonEmpty, controlPlane: nonEmpty, adminConf: nonEmpty });
export type SecretIds = z.infer<typeof secretIds>;

const initialized = z.object({ by: nonEmpty, at: isoInstant, fence: z.int().positive() });
export type Initialized = z.infer<typeof initialized>;

const failure = z.object({ by: nonEmpty, at: isoInstant, step: nonEmpty, message: z.string() });
export type RecordedFailure = z.infer<typeof failure>;

/**
 * The secret versions readers take (Secrets Manager VersionIds), recorded by the fenced write
 * that publishes them: a holder that lost its lease may add a version, but no record names it.
 */
const secretVersions = z.object({
  join: nonEmpty.optional(),
  controlPlane: nonEmpty.optional(),
  adminConf: nonEmpty.optional(),
  /** `kboot/<cluster>/pki`, written once at init (and again by a recovery). */
  pki: nonEmpty.optional(),
});
export type SecretVersions = z.infer<typeof secretVersions>;

/** The snapshot a recovery restored the cluster from (docs/backup.md "Automatic recovery"). */
const restoredFrom = z.object({
  key: nonEmpty,
  revision: z.int().nonnegative(),
  takenAt: isoInstant,
  restoredAt: isoInstant,
  by: nonEmpty,
});
export type RestoredFrom = z.infer<typeof restoredFrom>;

const joinMaterial = z.object({
  updatedAt: isoInstant,
  tokenExpiresAt: isoInstant,
  certificateKeyExpiresAt: isoInstant.optional(),
  versions: secretVersions.optional(),
  /**
   * When the client certificate of the published admin.conf (the version `versions.adminConf`
   * names) expires, stamped by whoever published it, so `kboot rotate` and `kboot status` need not
   * read the secret. Absent in older records and when it embeds no client certificate.
   */
  adminConfExpiresAt: isoInstant.optional(),
});
export type JoinMaterialStamp = z.infer<typeof joinMaterial>;

/**
 * The addons that bind the whole cluster, decided once (by `kboot cluster create` or the first
 * master's node config): joiners read `cloudController` to run their kubelet with
 * cloud-provider: external when the cluster has a cloud-controller-manager.
 */
const clusterAddons = z.object({
  cni: z.enum(['cilium', 'none']),
  cloudController: z.boolean(),
});
export type ClusterAddons = z.infer<typeof clusterAddons>;

const recordShape = z
  .object({
    schemaVersion: z.literal(CLUSTER_RECORD_SCHEMA_VERSION),
    clusterName: nonEmpty,
    region: nonEmpty,
    apiEndpoint,
    podCidr: cidr,
    serviceCidr: cidr,
    kubernetesVersion,
    externalDns: nonEmpty.optional(),
    /** Absent or partial in records written by other tools: filled with the default ids. */
    secrets: secretIds.partial().optional(),
    kmsKeyId: nonEmpty.optional(),
    /** Absent in records of earlier versions: joiners then use their node config. */
    addons: clusterAddons.optional(),
    createdBy: nonEmpty,
    createdAt: isoInstant,
    initialized: initialized.optional(),
    lastFailure: failure.optional(),
    joinMaterial: joinMaterial.optional(),
    /** A roll to a new version or AMI: what it has done so far (../upgrade/record.ts). */
    upgrade: upgradeShape.optional(),
    /** Set by the recovery of a lost control plane: the snapshot the cluster was restored from. */
    restoredFrom: restoredFrom.optional(),
  })
  .superRefine((record, ctx) => {
    if (record.upgrade === undefined) return;
    const mismatch = upgradeVersionMismatch(record.kubernetesVersion, record.upgrade);
    if (mismatch !== undefined)
      ctx.addIssue({ code: 'custom', path: ['kubernetesVersion'], message: mismatch });
  });

export type ClusterRecord = Omit<z.infer<typeof recordShape>, 'secrets'> & { secrets: SecretIds };

export function defaultSecretIds(clusterName: string): SecretIds {
  return {
    join: joinSecretId(clusterName),
    controlPlane: controlPlaneSecretId(clusterName),
    adminConf: adminConfSecretId(clusterName),
  };
}

/** Where a record was read from, for messages. */
export interface RecordSource {
  cluster: string;
  table: string;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return value.length > 40 ? 'a string' : `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return `a${typeof value === 'object' ? 'n object' : ` ${typeof value}`}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.') || '(record)';
  const value = valueAt(raw, issue.path);
  if (issue.code === 'invalid_type') {
    return `field ${field}: expected ${issue.expected}, got ${describeValue(value)}`;
  }
  return `field ${field}: ${issue.message.replace(/^Invalid input: /, '')}, got ${describeValue(value)}`;
}

function recordHint(source: RecordSource): string {
  return (
    `fix or delete the item pk=cluster#${source.cluster}, sk=meta in DynamoDB table ${source.table} ` +
    `(it is written by 'kboot cluster create' or by the first master)`
  );
}

/**
 * Validates a record read from the table. A record written by a newer kboot (higher
 * schemaVersion) is refused rather than misread; a malformed one names every bad field.
 */
export function parseClusterRecord(raw: unknown, source: RecordSource): ClusterRecord {
  const where = `cluster record for "${source.cluster}" in table ${source.table}`;
  const version = valueAt(raw, ['schemaVersion']);
  if (typeof version === 'number' && Number.isInteger(version) && version > CLUSTER_RECORD_SCHEMA_VERSION) {
    throw new StateConflictError(
      `${where} has schema version ${version}, newer than this kboot supports (${CLUSTER_RECORD_SCHEMA_VERSION})`,
      {
        hint: 'upgrade kboot (on this machine, and in the AMI) to the version that wrote the record',
        details: { cluster: source.cluster, table: source.table, schemaVersion: version },
      },
    );
  }
  const parsed = recordShape.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(raw, issue));
    throw new StateConflictError(`${where} is malformed: ${problems.join('; ')}`, {
      hint: recordHint(source),
      details: {
        cluster: source.cluster,
        table: source.table,
        fields: parsed.error.issues.map((i) => i.path.join('.')),
      },
    });
  }
  const record = parsed.data;
  if (record.clusterName !== source.cluster) {
    throw new StateConflictError(
      `${where} is malformed: field clusterName: expected "${source.cluster}", got "${record.clusterName}"`,
      { hint: recordHint(source) },
    );
  }
  return { ...record, secrets: { ...defaultSecretIds(record.clusterName), ...record.secrets } };
}

/** What a writer supplies; the rest gets defaults. */
export interface NewClusterRecord {
  clusterName: string;
  region: string;
  apiEndpoint: string;
  podCidr: string;
  serviceCidr: string;
  kubernetesVersion: string;
  externalDns?: string;
  secrets?: Partial<SecretIds>;
  kmsKeyId?: string;
  addons?: ClusterAddons;
  createdBy: string;
  createdAt: string;
}

/**
 * A new record with defaults filled in, validated as a read would validate it (a ConfigError-ish
 * mistake in the inputs is reported before anything is written).
 */
export function newClusterRecord(input: NewClusterRecord, table: string): ClusterRecord {
  const raw: Record<string, unknown> = { schemaVersion: CLUSTER_RECORD_SCHEMA_VERSION, ...input };
  for (const [key, value] of Object.entries(raw)) if (value === undefined) delete raw[key];
  raw.secrets = { ...defaultSecretIds(input.clusterName), ...input.secrets };
  return parseClusterRecord(raw, { cluster: input.clusterName, table });
}

export interface ApiAddress {
  host: string;
  port: number;
}

/** Splits an apiEndpoint into host and port (6443 when not given). */
export function apiAddress(endpoint: string): ApiAddress {
  const match = /^(.*?)(?::(\d{1,5}))?$/.exec(endpoint);
  const host = match?.[1] ?? endpoint;
  const port = match?.[2] === undefined ? DEFAULT_API_PORT : Number(match[2]);
  return { host, port };
}

function normalizedVersion(version: string): string {
  return version.replace(/^v/, '');
}

/** The fields two masters must agree on; differences in anything else do not matter. */
export function recordDifferences(existing: ClusterRecord, proposed: ClusterRecord): string[] {
  const same = {
    region: existing.region === proposed.region,
    apiEndpoint:
      apiAddress(existing.apiEndpoint).host === apiAddress(proposed.apiEndpoint).host &&
      apiAddress(existing.apiEndpoint).port === apiAddress(proposed.apiEndpoint).port,
    podCidr: existing.podCidr === proposed.podCidr,
    serviceCidr: existing.serviceCidr === proposed.serviceCidr,
    kubernetesVersion:
      normalizedVersion(existing.kubernetesVersion) === normalizedVersion(proposed.kubernetesVersion),
    externalDns: existing.externalDns === proposed.externalDns,
    'secrets.join': existing.secrets.join === proposed.secrets.join,
    'secrets.controlPlane': existing.secrets.controlPlane === proposed.secrets.controlPlane,
    'secrets.adminConf': existing.secrets.adminConf === proposed.secrets.adminConf,
    kmsKeyId: existing.kmsKeyId === proposed.kmsKeyId,
    addons:
      existing.addons?.cni === proposed.addons?.cni &&
      existing.addons?.cloudController === proposed.addons?.cloudController,
  };
  return Object.entries(same)
    .filter(([, equal]) => !equal)
    .map(([field]) => field);
}
