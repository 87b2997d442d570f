/**
 * The AWS calls kboot made, as recorded with KBOOT_TRACE_AWS_CALLS (one JSON line per SDK call:
 * {service, operation, pid}; src/adapters/aws/clients.ts), and the IAM actions those calls need.
 *
 * The mapping below is written from AWS's documentation and kboot's code, independently of the
 * policy model in src/domain/iam, so the two can check each other. An operation missing here
 * fails loudly: a new SDK call must be mapped (and granted) before the tests pass.
 */

import { readFileSync } from 'node:fs';

export interface TracedAwsCall {
  service: string;
  operation: string;
  pid: number;
  /** A DeleteObjects naming object versions (authorized as s3:DeleteObjectVersion). */
  versioned?: boolean;
}

/** Every call recorded in a trace file; none when the file does not exist (no call was made). */
export function readAwsCalls(file: string): TracedAwsCall[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TracedAwsCall);
}

/** `service:Operation` of each call, in order. */
export function callNames(calls: readonly TracedAwsCall[]): string[] {
  return calls.map((call) => `${call.service}:${call.operation}`);
}

/**
 * IAM actions per SDK call (`service:Operation`). Where one call needs more than its namesake:
 * - dynamodb:TransactWriteItems is not an IAM action: AWS authorizes each contained action.
 *   kboot's only transaction (markInitialized in src/adapters/aws/dynamodb-cluster-store.ts) is
 *   a ConditionCheck on the bootstrap lock item and an Update of the cluster record.
 * - secretsmanager:CreateSecret with Tags (kboot always tags its secrets) also needs TagResource.
 * - Creating an ELBv2 load balancer, target group or listener, a launch template, an Auto Scaling
 *   group or an IAM OIDC provider with tags also needs the service's tagging action.
 * - autoscaling:CreateAutoScalingGroup with a launch template is also authorized as
 *   ec2:RunInstances, ec2:CreateTags (its tag specifications) and iam:PassRole (its instance
 *   profile), and iam:CreateServiceLinkedRole in an account without Auto Scaling's role yet
 *   (Auto Scaling's "API permissions" page).
 * - s3:HeadBucket is authorized as s3:ListBucket; the public access block as
 *   s3:{Get,Put}BucketPublicAccessBlock.
 */
const IAM_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  'dynamodb:GetItem': ['dynamodb:GetItem'],
  'dynamodb:PutItem': ['dynamodb:PutItem'],
  'dynamodb:UpdateItem': ['dynamodb:UpdateItem'],
  'dynamodb:Query': ['dynamodb:Query'],
  'dynamodb:Scan': ['dynamodb:Scan'],
  'dynamodb:DescribeTable': ['dynamodb:DescribeTable'],
  // kboot tags the table it creates (kboot cluster create): dynamodb:TagResource.
  'dynamodb:CreateTable': ['dynamodb:CreateTable', 'dynamodb:TagResource'],
  'dynamodb:TransactWriteItems': ['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
  'secretsmanager:GetSecretValue': ['secretsmanager:GetSecretValue'],
  'secretsmanager:PutSecretValue': ['secretsmanager:PutSecretValue'],
  'secretsmanager:CreateSecret': ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
  'secretsmanager:DescribeSecret': ['secretsmanager:DescribeSecret'],
  'ec2:DescribeTags': ['ec2:DescribeTags'],
  'ec2:DescribeImages': ['ec2:DescribeImages'],
  'ec2:DescribeInstances': ['ec2:DescribeInstances'],
  'elasticloadbalancing:DescribeLoadBalancers': ['elasticloadbalancing:DescribeLoadBalancers'],
  'elasticloadbalancing:DescribeTags': ['elasticloadbalancing:DescribeTags'],
  's3:PutObject': ['s3:PutObject'],
  // kboot cluster plan / create / destroy: the state, key, secret and IAM providers
  'dynamodb:DeleteTable': ['dynamodb:DeleteTable'],
  'dynamodb:ListTagsOfResource': ['dynamodb:ListTagsOfResource'],
  'kms:CreateKey': ['kms:CreateKey', 'kms:TagResource'],
  'kms:CreateAlias': ['kms:CreateAlias'],
  'kms:DeleteAlias': ['kms:DeleteAlias'],
  'kms:DescribeKey': ['kms:DescribeKey'],
  'kms:ListKeys': ['kms:ListKeys'],
  'kms:ListResourceTags': ['kms:ListResourceTags'],
  'kms:ScheduleKeyDeletion': ['kms:ScheduleKeyDeletion'],
  'secretsmanager:DeleteSecret': ['secretsmanager:DeleteSecret'],
  'iam:CreateRole': ['iam:CreateRole', 'iam:TagRole'],
  'iam:GetRole': ['iam:GetRole'],
  'iam:PutRolePolicy': ['iam:PutRolePolicy'],
  'iam:GetRolePolicy': ['iam:GetRolePolicy'],
  'iam:ListRolePolicies': ['iam:ListRolePolicies'],
  'iam:DeleteRolePolicy': ['iam:DeleteRolePolicy'],
  'iam:DeleteRole': ['iam:DeleteRole'],
  'iam:CreateInstanceProfile': ['iam:CreateInstanceProfile', 'iam:TagInstanceProfile'],
  'iam:GetInstanceProfile': ['iam:GetInstanceProfile'],
  'iam:AddRoleToInstanceProfile': ['iam:AddRoleToInstanceProfile'],
  'iam:RemoveRoleFromInstanceProfile': ['iam:RemoveRoleFromInstanceProfile'],
  'iam:DeleteInstanceProfile': ['iam:DeleteInstanceProfile'],
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:DeleteObjects': ['s3:DeleteObject'],
  // kboot cluster create: the API load balancer, launch templates, Auto Scaling groups, IRSA
  'elasticloadbalancing:CreateLoadBalancer': [
    'elasticloadbalancing:CreateLoadBalancer',
    'elasticloadbalancing:AddTags',
  ],
  'elasticloadbalancing:CreateTargetGroup': [
    'elasticloadbalancing:CreateTargetGroup',
    'elasticloadbalancing:AddTags',
  ],
  'elasticloadbalancing:CreateListener': [
    'elasticloadbalancing:CreateListener',
    'elasticloadbalancing:AddTags',
  ],
  'elasticloadbalancing:DescribeTargetGroups': ['elasticloadbalancing:DescribeTargetGroups'],
  'elasticloadbalancing:ModifyLoadBalancerAttributes': ['elasticloadbalancing:ModifyLoadBalancerAttributes'],
  'elasticloadbalancing:ModifyTargetGroupAttributes': ['elasticloadbalancing:ModifyTargetGroupAttributes'],
  'elasticloadbalancing:DescribeLoadBalancerAttributes': [
    'elasticloadbalancing:DescribeLoadBalancerAttributes',
  ],
  'elasticloadbalancing:DescribeTargetGroupAttributes': [
    'elasticloadbalancing:DescribeTargetGroupAttributes',
  ],
  'elasticloadbalancing:DescribeListeners': ['elasticloadbalancing:DescribeListeners'],
  'elasticloadbalancing:DeleteLoadBalancer': ['elasticloadbalancing:DeleteLoadBalancer'],
  'elasticloadbalancing:DeleteTargetGroup': ['elasticloadbalancing:DeleteTargetGroup'],
  'elasticloadbalancing:DeleteListener': ['elasticloadbalancing:DeleteListener'],
  'ec2:DescribeSubnets': ['ec2:DescribeSubnets'],
  'ec2:CreateLaunchTemplate': ['ec2:CreateLaunchTemplate', 'ec2:CreateTags'],
  'ec2:CreateLaunchTemplateVersion': ['ec2:CreateLaunchTemplateVersion'],
  'ec2:ModifyLaunchTemplate': ['ec2:ModifyLaunchTemplate'],
  'ec2:DescribeLaunchTemplates': ['ec2:DescribeLaunchTemplates'],
  'ec2:DescribeLaunchTemplateVersions': ['ec2:DescribeLaunchTemplateVersions'],
  'ec2:DeleteLaunchTemplate': ['ec2:DeleteLaunchTemplate'],
  'ec2:DescribeSecurityGroups': ['ec2:DescribeSecurityGroups'],
  'ec2:CreateSecurityGroup': ['ec2:CreateSecurityGroup', 'ec2:CreateTags'],
  'ec2:AuthorizeSecurityGroupIngress': ['ec2:AuthorizeSecurityGroupIngress'],
  'ec2:RevokeSecurityGroupIngress': ['ec2:RevokeSecurityGroupIngress'],
  'ec2:DeleteSecurityGroup': ['ec2:DeleteSecurityGroup'],
  'autoscaling:CreateAutoScalingGroup': [
    'autoscaling:CreateAutoScalingGroup',
    'autoscaling:CreateOrUpdateTags',
    'ec2:RunInstances',
    'ec2:CreateTags',
    'iam:PassRole',
    'iam:CreateServiceLinkedRole',
  ],
  'autoscaling:PutLifecycleHook': ['autoscaling:PutLifecycleHook'],
  'autoscaling:DescribeAutoScalingGroups': ['autoscaling:DescribeAutoScalingGroups'],
  'autoscaling:DescribeLifecycleHooks': ['autoscaling:DescribeLifecycleHooks'],
  // kboot leave
  'autoscaling:DescribeAutoScalingInstances': ['autoscaling:DescribeAutoScalingInstances'],
  'autoscaling:RecordLifecycleActionHeartbeat': ['autoscaling:RecordLifecycleActionHeartbeat'],
  'autoscaling:CompleteLifecycleAction': ['autoscaling:CompleteLifecycleAction'],
  'autoscaling:SetInstanceHealth': ['autoscaling:SetInstanceHealth'],
  'dynamodb:DeleteItem': ['dynamodb:DeleteItem'],
  'autoscaling:UpdateAutoScalingGroup': ['autoscaling:UpdateAutoScalingGroup'],
  'autoscaling:TerminateInstanceInAutoScalingGroup': ['autoscaling:TerminateInstanceInAutoScalingGroup'],
  'autoscaling:AttachLoadBalancerTargetGroups': ['autoscaling:AttachLoadBalancerTargetGroups'],
  'autoscaling:DeleteAutoScalingGroup': ['autoscaling:DeleteAutoScalingGroup'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:CreateBucket': ['s3:CreateBucket'],
  's3:GetBucketTagging': ['s3:GetBucketTagging'],
  's3:PutBucketTagging': ['s3:PutBucketTagging'],
  's3:GetBucketPolicy': ['s3:GetBucketPolicy'],
  's3:PutBucketPolicy': ['s3:PutBucketPolicy'],
  's3:GetPublicAccessBlock': ['s3:GetBucketPublicAccessBlock'],
  's3:PutPublicAccessBlock': ['s3:PutBucketPublicAccessBlock'],
  's3:DeleteObject': ['s3:DeleteObject'],
  's3:DeleteBucket': ['s3:DeleteBucket'],
  // kboot cluster create/plan/destroy: the etcd snapshots' bucket (backup-bucket).
  's3:PutBucketEncryption': ['s3:PutEncryptionConfiguration'],
  's3:GetBucketEncryption': ['s3:GetEncryptionConfiguration'],
  's3:PutBucketVersioning': ['s3:PutBucketVersioning'],
  's3:GetBucketVersioning': ['s3:GetBucketVersioning'],
  's3:PutBucketLifecycleConfiguration': ['s3:PutLifecycleConfiguration'],
  's3:GetBucketLifecycleConfiguration': ['s3:GetLifecycleConfiguration'],
  's3:ListObjectVersions': ['s3:ListBucketVersions'],
  's3:DeleteObjects+versions': ['s3:DeleteObjectVersion'],
  'iam:ListOpenIDConnectProviders': ['iam:ListOpenIDConnectProviders'],
  'iam:GetOpenIDConnectProvider': ['iam:GetOpenIDConnectProvider'],
  'iam:CreateOpenIDConnectProvider': ['iam:CreateOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider'],
  'iam:DeleteOpenIDConnectProvider': ['iam:DeleteOpenIDConnectProvider'],
};

/**
 * What Secrets Manager asks of a customer managed KMS key on the caller's behalf (the SDK's own
 * docs of each operation; AWS managed `aws/secretsmanager` needs none): reading decrypts the data
 * key, writing a new version generates one, and CreateSecret needs both.
 */
const KMS_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  'secretsmanager:GetSecretValue': ['kms:Decrypt'],
  'secretsmanager:PutSecretValue': ['kms:GenerateDataKey'],
  'secretsmanager:CreateSecret': ['kms:GenerateDataKey', 'kms:Decrypt'],
};

/** The IAM actions the calls need, sorted; with `kmsKey`, also those of the cluster's KMS key. */
export function iamActionsOf(calls: readonly TracedAwsCall[], options: { kmsKey?: boolean } = {}): string[] {
  const actions = new Set<string>();
  for (const call of calls) {
    const name = `${call.service}:${call.operation}${call.versioned === true ? '+versions' : ''}`;
    const mapped = IAM_ACTIONS[name];
    if (mapped === undefined) {
      throw new Error(`no IAM mapping for the traced AWS call ${name}: add it to test/support/aws-calls.ts`);
    }
    for (const action of mapped) actions.add(action);
    if (options.kmsKey === true) for (const action of KMS_ACTIONS[name] ?? []) actions.add(action);
  }
  return [...actions].sort();
}
