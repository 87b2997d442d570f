/**
 * What `kboot cluster plan|create|destroy` need, as the operator role's grants (permissions.ts
 * spreads them into its catalogue). Checked against traced calls like every other grant
 * (test/integration/iam-policy.test.ts). Where AWS allows it, each grant names the cluster's own
 * resources: its IAM roles and instance profiles (path /kboot/, named kboot-<cluster>-*), its
 * key alias, its Auto Scaling groups, the IRSA bucket; elsewhere kboot's name prefix (load
 * balancers, whose names may be shortened) or `*` (Describe*, CreateKey, RunInstances).
 *
 * Implied permissions (AWS authorizes them on the caller, though no call is named for them):
 * - Create* with Tags also needs the service's tagging action (iam:TagRole, kms:TagResource,
 *   dynamodb:TagResource, elasticloadbalancing:AddTags, ec2:CreateTags, …);
 * - an Auto Scaling group from a launch template with an instance profile needs
 *   ec2:RunInstances and iam:PassRole on the role;
 * - the table itself (CreateTable, DeleteTable, and the Scan that checks no other cluster's items
 *   remain) is granted only in a policy for every cluster of the table: a policy for one cluster
 *   creates its resources in an existing table and leaves the table to the table's owner.
 */

import { elbNamePrefix } from '../cluster/compute.js';
import type { PolicyScope, SecretSelection } from './scope.js';

export type ClusterCommand = 'cluster-plan' | 'cluster-create' | 'cluster-destroy' | 'cluster-upgrade';

export type ClusterIamAction =
  | 'dynamodb:Query'
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:Scan'
  | 'secretsmanager:CreateSecret'
  | 'secretsmanager:TagResource'
  | 'kms:GenerateDataKey'
  | 'kms:Decrypt'
  | 'elasticloadbalancing:DescribeLoadBalancers'
  | 'elasticloadbalancing:DescribeTags'
  | 'ec2:DescribeImages'
  | 'dynamodb:DescribeTable'
  | 'dynamodb:CreateTable'
  | 'dynamodb:DeleteTable'
  | 'dynamodb:TagResource'
  | 'dynamodb:ListTagsOfResource'
  | 'dynamodb:DeleteItem'
  | 'kms:CreateKey'
  | 'kms:ListKeys'
  | 'kms:DescribeKey'
  | 'kms:CreateAlias'
  | 'kms:DeleteAlias'
  | 'kms:TagResource'
  | 'kms:ListResourceTags'
  | 'kms:ScheduleKeyDeletion'
  | 'secretsmanager:DescribeSecret'
  | 'secretsmanager:DeleteSecret'
  | 'iam:CreateRole'
  | 'iam:TagRole'
  | 'iam:GetRole'
  | 'iam:PutRolePolicy'
  | 'iam:GetRolePolicy'
  | 'iam:ListRolePolicies'
  | 'iam:DeleteRolePolicy'
  | 'iam:DeleteRole'
  | 'iam:PassRole'
  | 'iam:CreateServiceLinkedRole'
  | 'iam:CreateInstanceProfile'
  | 'iam:TagInstanceProfile'
  | 'iam:GetInstanceProfile'
  | 'iam:AddRoleToInstanceProfile'
  | 'iam:RemoveRoleFromInstanceProfile'
  | 'iam:DeleteInstanceProfile'
  | 'iam:ListOpenIDConnectProviders'
  | 'iam:CreateOpenIDConnectProvider'
  | 'iam:TagOpenIDConnectProvider'
  | 'iam:GetOpenIDConnectProvider'
  | 'iam:DeleteOpenIDConnectProvider'
  | 'elasticloadbalancing:DescribeListeners'
  | 'elasticloadbalancing:DescribeTargetGroups'
  | 'elasticloadbalancing:DescribeLoadBalancerAttributes'
  | 'elasticloadbalancing:DescribeTargetGroupAttributes'
  | 'elasticloadbalancing:CreateLoadBalancer'
  | 'elasticloadbalancing:CreateTargetGroup'
  | 'elasticloadbalancing:CreateListener'
  | 'elasticloadbalancing:AddTags'
  | 'elasticloadbalancing:ModifyLoadBalancerAttributes'
  | 'elasticloadbalancing:ModifyTargetGroupAttributes'
  | 'elasticloadbalancing:DeleteListener'
  | 'elasticloadbalancing:DeleteLoadBalancer'
  | 'elasticloadbalancing:DeleteTargetGroup'
  | 'ec2:DescribeLaunchTemplates'
  | 'ec2:DescribeLaunchTemplateVersions'
  | 'ec2:CreateLaunchTemplate'
  | 'ec2:DeleteLaunchTemplate'
  | 'ec2:CreateLaunchTemplateVersion'
  | 'ec2:ModifyLaunchTemplate'
  | 'autoscaling:AttachLoadBalancerTargetGroups'
  | 'ec2:DescribeSecurityGroups'
  | 'ec2:CreateSecurityGroup'
  | 'ec2:AuthorizeSecurityGroupIngress'
  | 'ec2:RevokeSecurityGroupIngress'
  | 'ec2:DeleteSecurityGroup'
  | 'ec2:CreateTags'
  | 'ec2:RunInstances'
  | 'autoscaling:DescribeAutoScalingGroups'
  | 'autoscaling:DescribeLifecycleHooks'
  | 'autoscaling:CreateAutoScalingGroup'
  | 'autoscaling:CreateOrUpdateTags'
  | 'autoscaling:UpdateAutoScalingGroup'
  | 'autoscaling:PutLifecycleHook'
  | 'autoscaling:DeleteAutoScalingGroup'
  | 's3:CreateBucket'
  | 's3:ListBucket'
  | 's3:PutBucketTagging'
  | 's3:GetBucketTagging'
  | 's3:PutBucketPolicy'
  | 's3:GetBucketPolicy'
  | 's3:PutBucketPublicAccessBlock'
  | 's3:GetBucketPublicAccessBlock'
  | 's3:DeleteBucket'
  | 's3:DeleteObject'
  | 's3:PutEncryptionConfiguration'
  | 's3:GetEncryptionConfiguration'
  | 's3:PutBucketVersioning'
  | 's3:GetBucketVersioning'
  | 's3:PutLifecycleConfiguration'
  | 's3:GetLifecycleConfiguration'
  | 's3:ListBucketVersions'
  | 's3:DeleteObjectVersion';

/** ARNs of the cluster's own resources of a kind, from the policy scope (every cluster's when unscoped). */
export type ArnsOf = (scope: PolicyScope) => string[];

/** A statement's Condition block: operator → context key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

/** A statement's condition from the scope (tag conditions: policy.ts renders the operators). */
export type ConditionOf = (scope: PolicyScope) => PolicyCondition;

function clusterPart(scope: PolicyScope): string {
  return scope.cluster ?? '*';
}

/** The tag every resource kboot creates carries, naming its cluster (domain/cluster/resource.ts). */
export const CLUSTER_TAG_KEY = 'kboot.io/cluster';

/** StringEquals the cluster's name, or (a policy for every cluster) StringLike any kboot cluster. */
function clusterTag(conditionKey: string): ConditionOf {
  return (scope): PolicyCondition =>
    scope.cluster === undefined
      ? { StringLike: { [conditionKey]: '*' } }
      : { StringEquals: { [conditionKey]: scope.cluster } };
}

/** Creating a resource: only with the cluster's tag in the request. */
export const REQUEST_TAGGED: ConditionOf = clusterTag(`aws:RequestTag/${CLUSTER_TAG_KEY}`);
/** Changing or deleting one: only a resource that carries the cluster's tag. */
export const RESOURCE_TAGGED: ConditionOf = clusterTag(`aws:ResourceTag/${CLUSTER_TAG_KEY}`);

/** The ELB name prefix of the cluster's load balancer and target group (compute.ts elbName). */
function elbPrefix(scope: PolicyScope): string {
  return scope.cluster === undefined ? 'kboot-' : elbNamePrefix(scope.cluster);
}

function ec2Arn(scope: PolicyScope, resource: string): string {
  return `arn:${scope.partition}:ec2:${scope.region}:${scope.account}:${resource}`;
}

export const CLUSTER_ARNS = {
  kmsKeys: (scope: PolicyScope) => [`arn:${scope.partition}:kms:${scope.region}:${scope.account}:key/*`],
  kmsAlias: (scope: PolicyScope) => [
    `arn:${scope.partition}:kms:${scope.region}:${scope.account}:alias/kboot/${clusterPart(scope)}`,
  ],
  roles: (scope: PolicyScope) => [
    `arn:${scope.partition}:iam::${scope.account}:role/kboot/kboot-${clusterPart(scope)}-*`,
  ],
  instanceProfiles: (scope: PolicyScope) => [
    `arn:${scope.partition}:iam::${scope.account}:instance-profile/kboot/kboot-${clusterPart(scope)}-*`,
  ],
  /** The IRSA issuer's provider, `<bucket>.s3.<region>.<domain>`: only with --irsa-bucket. */
  oidcProviders: (scope: PolicyScope) =>
    scope.irsaBucket === undefined
      ? []
      : [`arn:${scope.partition}:iam::${scope.account}:oidc-provider/${scope.irsaBucket}.s3.*`],
  loadBalancers: (scope: PolicyScope) => {
    const base = `arn:${scope.partition}:elasticloadbalancing:${scope.region}:${scope.account}`;
    const prefix = elbPrefix(scope);
    return [
      `${base}:loadbalancer/net/${prefix}*`,
      `${base}:targetgroup/${prefix}*`,
      `${base}:listener/net/${prefix}*`,
    ];
  },
  /** Launch templates and security groups: ids, not names, in their ARNs (so: tag conditions). */
  taggedEc2: (scope: PolicyScope) => [ec2Arn(scope, 'launch-template/*'), ec2Arn(scope, 'security-group/*')],
  /** CreateSecurityGroup is authorized on its VPC too, which it does not change. */
  vpcs: (scope: PolicyScope) => [ec2Arn(scope, 'vpc/*')],
  /** What a launch from a template uses besides the template (RunInstances authorizes each). */
  launchResources: (scope: PolicyScope) => [
    ec2Arn(scope, 'instance/*'),
    ec2Arn(scope, 'volume/*'),
    ec2Arn(scope, 'network-interface/*'),
    ec2Arn(scope, 'subnet/*'),
    ec2Arn(scope, 'security-group/*'),
    `arn:${scope.partition}:ec2:${scope.region}::image/*`,
  ],
  groups: (scope: PolicyScope) => [
    `arn:${scope.partition}:autoscaling:${scope.region}:${scope.account}:autoScalingGroup:*:autoScalingGroupName/kboot-${clusterPart(scope)}-*`,
  ],
  autoScalingServiceRole: (scope: PolicyScope) => [
    `arn:${scope.partition}:iam::${scope.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
  ],
  /** The IRSA bucket and its objects: only with --irsa-bucket (never any bucket). */
  irsaBucket: (scope: PolicyScope) =>
    scope.irsaBucket === undefined ? [] : [`arn:${scope.partition}:s3:::${scope.irsaBucket}`],
  irsaObjects: (scope: PolicyScope) =>
    scope.irsaBucket === undefined ? [] : [`arn:${scope.partition}:s3:::${scope.irsaBucket}/*`],
  /** The etcd snapshot bucket and its objects: only with --backup-bucket (never any bucket). */
  backupBucket: (scope: PolicyScope) =>
    scope.backupBucket === undefined ? [] : [`arn:${scope.partition}:s3:::${scope.backupBucket}`],
  backupObjects: (scope: PolicyScope) =>
    scope.backupBucket === undefined ? [] : [`arn:${scope.partition}:s3:::${scope.backupBucket}/*`],
} satisfies Record<string, ArnsOf>;

const EVERY: ClusterCommand[] = ['cluster-plan', 'cluster-create', 'cluster-destroy'];
const CREATE: ClusterCommand[] = ['cluster-create'];
const DESTROY: ClusterCommand[] = ['cluster-destroy'];
/** Also `kboot cluster upgrade`, whose own grants are in upgrade-grants.ts. */
const AND_UPGRADE: ClusterCommand[] = [...EVERY, 'cluster-upgrade'];

/** The operator's grants for the cluster commands; permissions.ts adds its own fields. */
export interface ClusterGrantSpec {
  sid: string;
  commands: ClusterCommand[];
  actions: ClusterIamAction[];
  target:
    | { kind: 'cluster-items'; leaveRequests?: true }
    | { kind: 'whole-table' }
    | { kind: 'any-resource' }
    | { kind: 'secrets'; secrets: SecretSelection }
    | { kind: 'kms-key'; secrets: SecretSelection }
    | { kind: 'arns'; arns: ArnsOf; condition?: ConditionOf };
  why: string;
}

/**
 * Every secret of the cluster, `kboot/<cluster>/*` (policy.ts): the operator creates and deletes
 * them all, among them the empty `node-leave` secret an older kboot made, which destroy still
 * deletes (through its resource record).
 */
const SECRETS = 'every';

/** Several kinds' ARNs in one statement (IAM matches each action against its own resource type). */
function arnsOf(...kinds: ArnsOf[]): ArnsOf {
  return (scope) => kinds.flatMap((kind) => kind(scope));
}

/**
 * Few statements on purpose: the operator's policy must stay under the 6,144 characters of a
 * managed policy, so actions on several resource types share a statement where their resources
 * can be listed together.
 */
export const CLUSTER_GRANT_SPECS: readonly ClusterGrantSpec[] = [
  {
    sid: 'ClusterState',
    commands: AND_UPGRADE,
    actions: [
      'dynamodb:DescribeTable',
      'dynamodb:ListTagsOfResource',
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    ],
    target: { kind: 'cluster-items', leaveRequests: true },
    why: "the cluster's resource records and metadata record, and its workers' leave requests (leave#<cluster>: destroy deletes them with the rest; one statement, to keep the policy under IAM's size limit); whether the table exists and is kboot's (table-level actions meet the leading-key condition vacuously)",
  },
  {
    sid: 'ClusterCreateDestroyTable',
    commands: [...CREATE, ...DESTROY],
    actions: ['dynamodb:CreateTable', 'dynamodb:TagResource', 'dynamodb:Scan', 'dynamodb:DeleteTable'],
    target: { kind: 'whole-table' },
    why: 'create the table when missing; delete it when kboot made it and no other cluster has items in it',
  },
  {
    sid: 'ClusterUnscopedReads',
    commands: AND_UPGRADE,
    actions: [
      'kms:ListKeys',
      'kms:DescribeKey',
      'kms:ListResourceTags',
      'iam:ListOpenIDConnectProviders',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'ec2:DescribeLaunchTemplates',
      'ec2:DescribeLaunchTemplateVersions',
      'ec2:DescribeImages',
      'ec2:DescribeSecurityGroups',
      'autoscaling:DescribeAutoScalingGroups',
      'autoscaling:DescribeLifecycleHooks',
    ],
    target: { kind: 'any-resource' },
    why: "reads without resource-level permissions (Describe*, List*); the account's keys and their tags, to find the cluster key",
  },
  {
    sid: 'ClusterCreateTagged',
    commands: EVERY,
    actions: ['kms:CreateKey', 'kms:TagResource', 'ec2:CreateLaunchTemplate', 'ec2:CreateSecurityGroup'],
    target: { kind: 'arns', arns: () => ['*'], condition: REQUEST_TAGGED },
    why: "the cluster key, launch templates and security groups, whose ARNs hold ids: created only with the cluster's kboot.io/cluster tag",
  },
  {
    sid: 'ClusterTagOnCreate',
    commands: EVERY,
    actions: ['ec2:CreateTags'],
    target: {
      kind: 'arns',
      arns: CLUSTER_ARNS.taggedEc2,
      condition: (scope) => ({
        ...REQUEST_TAGGED(scope),
        StringEquals: {
          ...REQUEST_TAGGED(scope).StringEquals,
          'ec2:CreateAction': ['CreateLaunchTemplate', 'CreateSecurityGroup'],
        },
      }),
    },
    why: 'the tags of a launch template or security group, only as it is created (never on another resource)',
  },
  {
    sid: 'ClusterCreateSecurityGroupInVpc',
    commands: EVERY,
    actions: ['ec2:CreateSecurityGroup'],
    target: { kind: 'arns', arns: CLUSTER_ARNS.vpcs },
    why: 'CreateSecurityGroup is authorized on the VPC too (which it does not change); the group itself needs the cluster tag',
  },
  {
    sid: 'ClusterManageTagged',
    commands: AND_UPGRADE,
    actions: [
      'kms:CreateAlias',
      'kms:DeleteAlias',
      'kms:ScheduleKeyDeletion',
      'ec2:DeleteLaunchTemplate',
      'ec2:CreateLaunchTemplateVersion',
      'ec2:ModifyLaunchTemplate',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:DeleteSecurityGroup',
      'ec2:RunInstances',
    ],
    target: {
      kind: 'arns',
      arns: arnsOf(CLUSTER_ARNS.kmsKeys, CLUSTER_ARNS.taggedEc2),
      condition: RESOURCE_TAGGED,
    },
    why: "the cluster key (alias, deletion), launch templates (versions, deletion; launching groups from them) and security groups (rules, deletion): only those that carry the cluster's tag",
  },
  {
    sid: 'ClusterLaunchFromTemplate',
    commands: AND_UPGRADE,
    actions: ['ec2:RunInstances'],
    target: {
      kind: 'arns',
      arns: CLUSTER_ARNS.launchResources,
      condition: () => ({ Bool: { 'ec2:IsLaunchTemplateResource': 'true' } }),
    },
    why: "Auto Scaling checks RunInstances on a group's template: only what the template names, and the template must be the cluster's (ClusterManageTagged)",
  },
  {
    sid: 'ClusterManageSecrets',
    commands: EVERY,
    actions: [
      'secretsmanager:DescribeSecret',
      'secretsmanager:CreateSecret',
      'secretsmanager:TagResource',
      'secretsmanager:DeleteSecret',
    ],
    target: { kind: 'secrets', secrets: SECRETS },
    why: "create the cluster's secrets without a value (the masters publish them); delete them",
  },
  {
    sid: 'ClusterCreateSecretsWithClusterKey',
    commands: CREATE,
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    target: { kind: 'kms-key', secrets: SECRETS },
    why: 'Secrets Manager checks the cluster key when a secret is created with it',
  },
  {
    sid: 'ClusterManageIam',
    commands: AND_UPGRADE,
    actions: [
      'iam:GetRole',
      'iam:CreateRole',
      'iam:TagRole',
      'iam:PutRolePolicy',
      'iam:GetRolePolicy',
      'iam:ListRolePolicies',
      'iam:DeleteRolePolicy',
      'iam:DeleteRole',
      'iam:PassRole',
      'iam:GetInstanceProfile',
      'iam:CreateInstanceProfile',
      'iam:TagInstanceProfile',
      'iam:AddRoleToInstanceProfile',
      'iam:RemoveRoleFromInstanceProfile',
      'iam:DeleteInstanceProfile',
      'iam:CreateServiceLinkedRole',
    ],
    target: {
      kind: 'arns',
      arns: arnsOf(CLUSTER_ARNS.roles, CLUSTER_ARNS.instanceProfiles, CLUSTER_ARNS.autoScalingServiceRole),
    },
    why: "the node roles (inline policies as kboot iam-policy prints them), passed to the cluster's instances; their instance profiles; Auto Scaling's service-linked role on an account's first group",
  },
  {
    sid: 'ClusterManageIrsaOidcProvider',
    commands: EVERY,
    actions: [
      'iam:CreateOpenIDConnectProvider',
      'iam:TagOpenIDConnectProvider',
      'iam:GetOpenIDConnectProvider',
      'iam:DeleteOpenIDConnectProvider',
    ],
    target: { kind: 'arns', arns: CLUSTER_ARNS.oidcProviders },
    why: "the IRSA OIDC provider of the cluster's bucket (only with --irsa-bucket)",
  },
  {
    sid: 'ClusterManageByName',
    commands: AND_UPGRADE,
    actions: [
      'kms:CreateAlias',
      'kms:DeleteAlias',
      'elasticloadbalancing:CreateLoadBalancer',
      'elasticloadbalancing:CreateTargetGroup',
      'elasticloadbalancing:CreateListener',
      'elasticloadbalancing:AddTags',
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:DeleteListener',
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DeleteTargetGroup',
      'autoscaling:CreateAutoScalingGroup',
      'autoscaling:CreateOrUpdateTags',
      'autoscaling:PutLifecycleHook',
      'autoscaling:UpdateAutoScalingGroup',
      'autoscaling:AttachLoadBalancerTargetGroups',
      'autoscaling:DeleteAutoScalingGroup',
    ],
    target: {
      kind: 'arns',
      arns: arnsOf(CLUSTER_ARNS.kmsAlias, CLUSTER_ARNS.loadBalancers, CLUSTER_ARNS.groups),
    },
    why: 'resources named by the cluster (IAM matches each action to its own resource type): the key alias alias/kboot/<cluster> (an alias change is authorized on the alias and on the key); the API load balancer, target group and listener (kboot-<cluster>-*); the Auto Scaling groups with their termination hook, updated to the spec, drained to zero before deletion',
  },
  {
    sid: 'ClusterManageIrsaBucket',
    commands: EVERY,
    actions: [
      's3:CreateBucket',
      's3:ListBucket',
      's3:PutBucketTagging',
      's3:GetBucketTagging',
      's3:PutBucketPolicy',
      's3:GetBucketPolicy',
      's3:PutBucketPublicAccessBlock',
      's3:GetBucketPublicAccessBlock',
      's3:DeleteObject',
      's3:DeleteBucket',
    ],
    target: { kind: 'arns', arns: arnsOf(CLUSTER_ARNS.irsaBucket, CLUSTER_ARNS.irsaObjects) },
    why: 'the IRSA bucket (addons.irsa.bucket) the OIDC documents are published in, emptied before it is deleted',
  },
  {
    sid: 'ClusterManageBackupBucket',
    commands: EVERY,
    actions: [
      's3:CreateBucket',
      's3:ListBucket',
      's3:PutBucketTagging',
      's3:GetBucketTagging',
      's3:PutEncryptionConfiguration',
      's3:GetEncryptionConfiguration',
      's3:PutBucketVersioning',
      's3:GetBucketVersioning',
      's3:PutBucketPublicAccessBlock',
      's3:GetBucketPublicAccessBlock',
      's3:PutLifecycleConfiguration',
      's3:GetLifecycleConfiguration',
      's3:ListBucketVersions',
      's3:DeleteObjectVersion',
      's3:DeleteBucket',
    ],
    target: { kind: 'arns', arns: arnsOf(CLUSTER_ARNS.backupBucket, CLUSTER_ARNS.backupObjects) },
    why: "the etcd snapshots' bucket (backup.bucket): made SSE-KMS, versioned, private, with its lifecycle rule; at destroy every object version deleted (only <cluster>/etcd/ of a given bucket), then a bucket kboot made",
  },
];
