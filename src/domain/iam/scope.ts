/**
 * What a policy is scoped to: one cluster's items and secrets (or every cluster's), the table,
 * region, account and KMS key, checked and turned into the ARNs and condition values the
 * statements use. Region and account not given are `*`; a KMS key ARN fixes the region (Secrets
 * Manager only uses keys of its own region). Pure: flags in, scope or a UsageError out.
 */

import { UsageError } from '../../core/errors.js';
import { DEFAULT_TABLE } from '../config/defaults.js';
import { validateClusterName } from '../identity/tags.js';
import { IRSA_BUCKET_PATTERN } from '../irsa/issuer.js';
import { adminConfSecretId, controlPlaneSecretId, joinSecretId, pkiSecretId } from '../join/secret-ids.js';

/** Matches anything in an ARN segment or condition value. */
export const ANY = '*';
/** Re-exported for the modules that scope policies and clusters by table. */
export { DEFAULT_TABLE };
/** The partition key prefix of a cluster's items (`cluster#<name>`, as the AWS adapters' dynamodb-items.ts writes it). */
export const CLUSTER_LEADING_KEY_PREFIX = 'cluster#';
/** The partition key prefix of a cluster's leave requests (`leave#<name>`, adapters/aws/dynamodb-items.ts). */
export const LEAVE_LEADING_KEY_PREFIX = 'leave#';
/** Secrets Manager appends `-` and six random characters to a secret's name in its ARN. */
export const SECRET_ARN_SUFFIX = '-??????';

/**
 * The cluster's secrets. (An older kboot also made an empty `kboot/<cluster>/node-leave`; `kboot
 * cluster destroy` deletes it through its resource record, within the operator's `kboot/<cluster>/*`.)
 */
export const SECRET_KINDS = ['join', 'control-plane', 'admin.conf', 'pki'] as const;
/** Some of the cluster's secrets, each by name; or `every`: its whole namespace, `kboot/<cluster>/*`. */
export type SecretSelection = readonly SecretKind[] | 'every';
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface PolicyScopeInput {
  cluster?: string;
  table?: string;
  region?: string;
  account?: string;
  kmsKeyArn?: string;
  /** The IRSA bucket (`addons.irsa.bucket`). */
  irsaBucket?: string;
  /** The etcd snapshot bucket (`backup.bucket`). */
  backupBucket?: string;
}

export interface KmsKey {
  arn: string;
  partition: string;
  region: string;
  account: string;
}

export interface PolicyScope {
  /** Undefined: every cluster in the table. */
  cluster: string | undefined;
  table: string;
  /** `*` when not given. */
  region: string;
  /** `*` when not given. */
  account: string;
  partition: string;
  kmsKey: KmsKey | undefined;
  /** Undefined: any bucket. */
  irsaBucket: string | undefined;
  /** Undefined: no snapshot statement (never objects of any bucket). */
  backupBucket: string | undefined;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;
const KMS_KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;

/** The partition a region belongs to. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function checkRegion(region: string): string {
  if (!REGION.test(region)) {
    throw new UsageError(`invalid --region "${region}"`, {
      hint: 'give an AWS region code, e.g. us-east-1 or eu-central-1',
    });
  }
  return region;
}

function checkAccount(account: string): string {
  if (!ACCOUNT.test(account)) {
    throw new UsageError(`invalid --account "${account}": an AWS account id is 12 digits`, {
      hint: 'find it with `aws sts get-caller-identity --query Account`',
    });
  }
  return account;
}

function checkTable(table: string): string {
  if (!TABLE.test(table)) {
    throw new UsageError(`invalid table name "${table}"`, {
      hint: 'a DynamoDB table name has 3 to 255 letters, digits, "_", "-" or "."',
    });
  }
  return table;
}

function checkBucket(bucket: string): string {
  if (!IRSA_BUCKET_PATTERN.test(bucket)) {
    throw new UsageError(`invalid --irsa-bucket "${bucket}"`, {
      hint: 'give the S3 bucket of addons.irsa.bucket: 3-63 lowercase letters, digits and hyphens, no dots',
    });
  }
  return bucket;
}

export function parseKmsKeyArn(arn: string): KmsKey {
  const match = KMS_KEY_ARN.exec(arn);
  if (match === null) {
    throw new UsageError(`invalid --kms-key-arn "${arn}": expected the ARN of a KMS key`, {
      hint:
        'IAM policies name a key by its key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias: ' +
        'find it with `aws kms describe-key --key-id alias/NAME --query KeyMetadata.Arn`',
    });
  }
  const [, partition, region, account] = match as unknown as [string, string, string, string];
  return { arn, partition, region: checkRegion(region), account };
}

export function resolvePolicyScope(input: PolicyScopeInput): PolicyScope {
  const cluster = input.cluster === undefined ? undefined : validateClusterName(input.cluster, '--cluster');
  const table = checkTable(input.table ?? DEFAULT_TABLE);
  const kmsKey = input.kmsKeyArn === undefined ? undefined : parseKmsKeyArn(input.kmsKeyArn);
  const givenRegion = input.region === undefined ? undefined : checkRegion(input.region);
  if (kmsKey !== undefined && givenRegion !== undefined && kmsKey.region !== givenRegion) {
    throw new UsageError(
      `the KMS key ${kmsKey.arn} is in region ${kmsKey.region}, not ${givenRegion}: Secrets Manager only uses keys of its own region`,
      { hint: 'pass the ARN of a key in the cluster region, or drop --region to take the key region' },
    );
  }
  const region = givenRegion ?? kmsKey?.region ?? ANY;
  const partition = region === ANY ? (kmsKey?.partition ?? 'aws') : partitionOf(region);
  if (kmsKey !== undefined && kmsKey.partition !== partition) {
    throw new UsageError(`the KMS key ${kmsKey.arn} is in partition ${kmsKey.partition}, not ${partition}`, {
      hint: 'pass the ARN of a key in the cluster region',
    });
  }
  const account = input.account === undefined ? ANY : checkAccount(input.account);
  const irsaBucket = input.irsaBucket === undefined ? undefined : checkBucket(input.irsaBucket);
  const backupBucket = input.backupBucket === undefined ? undefined : checkBackupBucket(input.backupBucket);
  return { cluster, table, region, account, partition, kmsKey, irsaBucket, backupBucket };
}

function checkBackupBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UsageError(`invalid --backup-bucket "${bucket}"`, {
      hint: 'give the S3 bucket of backup.bucket: 3-63 lowercase letters, digits, dots and hyphens',
    });
  }
  return bucket;
}

/** The ARN pattern of the cluster's etcd snapshots (every cluster's, when unscoped). */
export function backupObjectsArn(scope: PolicyScope): string {
  return `arn:${scope.partition}:s3:::${scope.backupBucket ?? ANY}/${scope.cluster ?? ANY}/etcd/*`;
}

/** The leading (partition) key every item of the cluster has. */
export function clusterLeadingKey(cluster: string): string {
  return `${CLUSTER_LEADING_KEY_PREFIX}${cluster}`;
}

/** The leading key of the cluster's leave requests, the only partition a worker writes. */
export function leaveLeadingKey(cluster: string): string {
  return `${LEAVE_LEADING_KEY_PREFIX}${cluster}`;
}

export function tableArn(scope: PolicyScope): string {
  return `arn:${scope.partition}:dynamodb:${scope.region}:${scope.account}:table/${scope.table}`;
}

const SECRET_IDS: Record<SecretKind, (cluster: string) => string> = {
  join: joinSecretId,
  'control-plane': controlPlaneSecretId,
  'admin.conf': adminConfSecretId,
  pki: pkiSecretId,
};

/** The ARN pattern of one of the cluster's secrets (every cluster's, when unscoped). */
export function secretArnPattern(scope: PolicyScope, secret: SecretKind): string {
  const name = SECRET_IDS[secret](scope.cluster ?? ANY);
  return `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:${name}${SECRET_ARN_SUFFIX}`;
}

/** Every secret of one cluster, `kboot/<cluster>/*`; of every cluster, kboot's namespace `kboot/*`. */
export function clusterSecretsArnPattern(scope: PolicyScope): string {
  const name = scope.cluster === undefined ? 'kboot/*' : `kboot/${scope.cluster}/*`;
  return `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:${name}`;
}

/** The ARN of an object in the IRSA bucket (any bucket when unscoped); S3 ARNs have no region or account. */
export function s3ObjectArn(scope: PolicyScope, key: string): string {
  return `arn:${scope.partition}:s3:::${scope.irsaBucket ?? ANY}/${key}`;
}

/** Every Auto Scaling group ARN in the scope's region and account (narrowed by the cluster tag). */
export function autoScalingGroupArnPattern(scope: PolicyScope): string {
  return `arn:${scope.partition}:autoscaling:${scope.region}:${scope.account}:autoScalingGroup:*:autoScalingGroupName/*`;
}

/** The `kms:ViaService` value of Secrets Manager in the scope's region. */
export function secretsManagerService(scope: PolicyScope): string {
  return `secretsmanager.${scope.region}.amazonaws.com`;
}

/** Human notes on what the scope leaves open, for stderr (JSON has no comments). */
export function scopeNotes(scope: PolicyScope): string[] {
  const notes: string[] = [];
  if (scope.cluster === undefined) {
    notes.push(
      `no --cluster: the policy covers every cluster in table ${scope.table} (pass --cluster NAME to scope it to one)`,
    );
  }
  if (scope.region === ANY)
    notes.push('no --region: resource ARNs match every region (pass --region REGION)');
  if (scope.account === ANY)
    notes.push('no --account: resource ARNs match every account (pass --account ID)');
  return notes;
}
