/**
 * The single source of truth of which AWS actions each kboot command needs, per role: one grant
 * per statement of the policy, naming the commands that need it (its Sid says so too), the IAM
 * actions, and what they act on. `kboot boot` runs the flows of its instance's role
 * (bootstrap-master and join-master on a control-plane instance, join-node on a worker), so it
 * needs what they need.
 *
 * How kboot's SDK calls become IAM actions (checked against traced calls by
 * test/integration/iam-policy.test.ts):
 * - DynamoDB TransactWriteItems has no IAM action of its own: each contained action is authorized.
 *   kboot's two transactions (marking a cluster initialized; rotate's stamp of the secret
 *   versions it published) are a ConditionCheck on a lease plus an Update of the record:
 *   dynamodb:ConditionCheckItem and dynamodb:UpdateItem.
 * - CreateSecret with Tags also needs secretsmanager:TagResource.
 * - With a customer managed KMS key, Secrets Manager calls KMS on the caller's behalf:
 *   GetSecretValue needs kms:Decrypt; CreateSecret kms:GenerateDataKey and kms:Decrypt;
 *   PutSecretValue kms:GenerateDataKey. kboot itself never calls KMS (so no kms:Encrypt).
 * - ec2:DescribeTags is called only when instance metadata tags are disabled; EC2 Describe*
 *   actions have no resource-level permissions, so `*`, limited to the region when it is known.
 *   The same holds for the ELBv2 Describe* calls of API endpoint discovery (first master only,
 *   when neither a cluster record nor the node config gives the endpoint).
 * - s3:PutObject (first master, only with IRSA: `addons.irsa` in the node config) is granted on
 *   the two OIDC document keys of the bucket given with --irsa-bucket, and not at all without it.
 * - dynamodb:Scan cannot be limited by dynamodb:LeadingKeys (a ForAllValues condition over a Scan's
 *   empty key set is true), so it is granted only in a policy for every cluster of the table.
 */

import { OIDC_OBJECT_KEYS } from '../irsa/issuer.js';
import {
  type ArnsOf,
  CLUSTER_GRANT_SPECS,
  type ClusterCommand,
  type ClusterIamAction,
  type ConditionOf,
} from './cluster-grants.js';
import type { IamRole } from './roles.js';
import type { SecretSelection } from './scope.js';
import { UPGRADE_GRANT_SPECS, type UpgradeIamAction } from './upgrade-grants.js';

export type KbootCommand =
  | ClusterCommand
  | 'boot'
  | 'bootstrap-master'
  | 'join-master'
  | 'join-node'
  | 'rotate'
  | 'leave'
  | 'leave-controller'
  | 'cleanup'
  | 'approve-csrs'
  | 'etcd-snapshot'
  | 'etcd-recover'
  | 'identity'
  | 'status'
  | 'kubeconfig'
  | 'ami';

export type IamAction =
  | ClusterIamAction
  | UpgradeIamAction
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:Query'
  | 'dynamodb:Scan'
  | 'secretsmanager:GetSecretValue'
  | 'secretsmanager:CreateSecret'
  | 'secretsmanager:PutSecretValue'
  | 'secretsmanager:TagResource'
  | 'kms:Decrypt'
  | 'kms:GenerateDataKey'
  | 'ec2:DescribeTags'
  | 'ec2:DescribeImages'
  | 'ec2:DescribeInstances'
  | 'elasticloadbalancing:DescribeLoadBalancers'
  | 'elasticloadbalancing:DescribeTags'
  | 's3:PutObject'
  | 's3:GetObject'
  | 's3:DeleteObject'
  | 's3:AbortMultipartUpload'
  | 'autoscaling:DescribeAutoScalingInstances'
  | 'autoscaling:DescribeLifecycleHooks'
  | 'autoscaling:RecordLifecycleActionHeartbeat'
  | 'autoscaling:CompleteLifecycleAction'
  | 'autoscaling:SetInstanceHealth';

export type GrantTarget =
  /**
   * The cluster's items (leading key `cluster#<name>`), or every item of the table when unscoped;
   * `leaveRequests`: its leave requests' partition too (`leave#<name>`).
   */
  | { kind: 'cluster-items'; leaveRequests?: true }
  /** The whole table, every cluster's items: granted only in a policy for every cluster. */
  | { kind: 'whole-table' }
  /**
   * The cluster's leave requests, a partition of their own (leading key `leave#<name>`; every
   * cluster's `leave#*` when unscoped); `worker-request`: only the attributes a worker writes.
   */
  | { kind: 'leave-requests'; attributes?: 'worker-request' }
  | { kind: 'secrets'; secrets: SecretSelection }
  /** The cluster's KMS key (only with --kms-key-arn), through Secrets Manager, for these secrets. */
  | { kind: 'kms-key'; secrets: SecretSelection }
  /** The IRSA OIDC documents: these keys in the IRSA bucket (no statement without one). */
  | { kind: 's3-objects'; keys: readonly string[] }
  /**
   * The cluster's etcd snapshots: `<backup bucket>/<cluster>/etcd/*` (no statement without
   * --backup-bucket: never objects of any bucket).
   */
  | { kind: 'backup-objects' }
  /** The cluster's KMS key (only with --kms-key-arn and --backup-bucket), through S3, for the snapshots. */
  | { kind: 'backup-kms-key' }
  /** The cluster's Auto Scaling groups: tagged kubernetes.io/cluster/<name> (node roles always name the cluster). */
  | { kind: 'cluster-groups' }
  /** Actions without resource-level permissions (EC2 Describe*): `*`, in the region when known. */
  | { kind: 'any-resource' }
  /** ARNs of the cluster's own resources of one kind (cluster-grants.ts). */
  | { kind: 'arns'; arns: ArnsOf; condition?: ConditionOf };

export interface Grant {
  /** Names the commands that need it (IAM allows letters and digits only). */
  sid: string;
  role: IamRole;
  commands: readonly KbootCommand[];
  actions: readonly IamAction[];
  target: GrantTarget;
  /** What kboot does with it, for people reading the catalogue. */
  why: string;
}

const MASTER_FLOWS = ['boot', 'bootstrap-master', 'join-master'] as const;

export const GRANTS: readonly Grant[] = [
  // worker: kboot boot / join-node / identity on a worker instance
  {
    sid: 'EveryCommandDescribeTagsIfImdsTagsOff',
    role: 'worker',
    commands: ['boot', 'join-node', 'identity', 'leave'],
    actions: ['ec2:DescribeTags'],
    target: { kind: 'any-resource' },
    why: "the instance's own tags, only when instance metadata tags are disabled",
  },
  {
    sid: 'JoinNodeReadClusterRecord',
    role: 'worker',
    commands: ['boot', 'join-node'],
    actions: ['dynamodb:GetItem'],
    target: { kind: 'cluster-items' },
    why: 'wait for the cluster record to say initialized',
  },
  {
    sid: 'JoinNodeReadMembersDuringUpgrade',
    role: 'worker',
    commands: ['boot', 'join-node'],
    actions: ['dynamodb:Query'],
    target: { kind: 'cluster-items' },
    why: "only while an upgrade is recorded and this worker runs its target: the record and the control-plane members' versions in one read, until every member runs the target",
  },
  {
    sid: 'JoinNodeReadJoinSecret',
    role: 'worker',
    commands: ['boot', 'join-node'],
    actions: ['secretsmanager:GetSecretValue'],
    target: { kind: 'secrets', secrets: ['join'] },
    why: 'read the API endpoint, bootstrap token and CA hashes (never the control-plane or admin.conf secrets)',
  },
  {
    sid: 'JoinNodeDecryptJoinSecret',
    role: 'worker',
    commands: ['boot', 'join-node'],
    actions: ['kms:Decrypt'],
    target: { kind: 'kms-key', secrets: ['join'] },
    why: 'Secrets Manager decrypts the join secret with the cluster key',
  },
  ...leaveLifecycleGrants('worker'),
  stuckBootGrant('worker'),
  {
    sid: 'LeaveWriteOwnLeaveRequest',
    role: 'worker',
    commands: ['leave'],
    actions: ['dynamodb:PutItem'],
    target: { kind: 'leave-requests', attributes: 'worker-request' },
    why: "ask the control plane to drain this worker: only items of the cluster's leave partition (never its record, locks or members), only the request's own attributes (never its state)",
  },
  {
    sid: 'LeaveReadOwnLeaveRequest',
    role: 'worker',
    commands: ['leave'],
    actions: ['dynamodb:GetItem'],
    target: { kind: 'leave-requests' },
    why: 'wait until a control-plane member marked the request done',
  },

  // control-plane: kboot boot / bootstrap-master / join-master / rotate / status / identity on a master
  {
    sid: 'EveryCommandDescribeTagsIfImdsTagsOff',
    role: 'control-plane',
    commands: [
      ...MASTER_FLOWS,
      'rotate',
      'status',
      'identity',
      'leave',
      'approve-csrs',
      'etcd-snapshot',
      'etcd-recover',
    ],
    actions: ['ec2:DescribeTags'],
    target: { kind: 'any-resource' },
    why: "the instance's own tags, only when instance metadata tags are disabled",
  },
  {
    sid: 'BootstrapMasterJoinMasterRotateReadStateAndLeases',
    role: 'control-plane',
    commands: [...MASTER_FLOWS, 'rotate', 'cleanup', 'etcd-snapshot', 'leave'],
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    target: { kind: 'cluster-items' },
    why: "read the record and locks; take, renew and release leases (the snapshot lease too); record failures, join material stamps and (rotate) the member's own certificate expiry",
  },
  {
    sid: 'BootstrapMasterJoinMasterWriteRecordAndMembers',
    role: 'control-plane',
    commands: [...MASTER_FLOWS, 'etcd-snapshot', 'leave'],
    actions: ['dynamodb:PutItem'],
    target: { kind: 'cluster-items' },
    why: 'write the cluster record if absent; record control-plane members; record an etcd snapshot (in a transaction with the snapshot lease)',
  },
  {
    sid: 'BootstrapMasterMarkInitializedTransaction',
    role: 'control-plane',
    commands: ['boot', 'bootstrap-master', 'rotate', 'etcd-snapshot', 'leave'],
    actions: ['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
    target: { kind: 'cluster-items' },
    why: 'TransactWriteItems: check the lease (bootstrap, rotate, snapshot) and stamp the record (initialized, the secret versions published) together',
  },
  {
    sid: 'BootstrapMasterDiscoverApiLoadBalancer',
    role: 'control-plane',
    commands: ['boot', 'bootstrap-master'],
    actions: ['elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DescribeTags'],
    target: { kind: 'any-resource' },
    why: 'find the API load balancer tagged for the cluster when no record or config gives the endpoint',
  },
  {
    sid: 'BootstrapMasterPublishIrsaOidcDocuments',
    role: 'control-plane',
    commands: ['boot', 'bootstrap-master'],
    actions: ['s3:PutObject'],
    target: { kind: 's3-objects', keys: OIDC_OBJECT_KEYS },
    why: 'publish the OIDC discovery document and JWKS for IRSA (only when addons.irsa is configured)',
  },
  {
    sid: 'JoinMasterRotateCleanupDescribeInstances',
    role: 'control-plane',
    commands: ['boot', 'join-master', 'rotate', 'cleanup', 'approve-csrs'],
    actions: ['ec2:DescribeInstances'],
    target: { kind: 'any-resource' },
    why: 'the cleanup of lost instances: which instances behind etcd members and Nodes are terminated or gone; approve-csrs: whether a kubelet serving request names an instance of this cluster',
  },
  {
    sid: 'JoinMasterRotateCleanupReadMembers',
    role: 'control-plane',
    commands: ['boot', 'join-master', 'rotate', 'cleanup', 'etcd-snapshot', 'etcd-recover', 'leave'],
    actions: ['dynamodb:Query'],
    target: { kind: 'cluster-items' },
    why: 'the cleanup of lost instances: read the member registry (instance ids and node names recorded at join); etcd snapshot: read the snapshot records',
  },
  {
    sid: 'StatusQueryOwnCluster',
    role: 'control-plane',
    commands: ['status'],
    actions: ['dynamodb:Query'],
    target: { kind: 'cluster-items' },
    why: "read the instance's own cluster state (kboot status on a master)",
  },
  {
    sid: 'JoinMasterRotateReadJoinMaterial',
    role: 'control-plane',
    commands: ['boot', 'join-master', 'rotate'],
    actions: ['secretsmanager:GetSecretValue'],
    target: { kind: 'secrets', secrets: ['join', 'control-plane'] },
    why: 'read the bootstrap token and certificate key',
  },
  {
    sid: 'RotateReadAdminConf',
    role: 'control-plane',
    commands: ['rotate'],
    actions: ['secretsmanager:GetSecretValue'],
    target: { kind: 'secrets', secrets: ['admin.conf'] },
    why: "read the published admin.conf's client certificate expiry (republished from this member when fewer than 30 days are left)",
  },
  {
    sid: 'BootstrapMasterRotatePublishJoinMaterial',
    role: 'control-plane',
    commands: ['boot', 'bootstrap-master', 'rotate'],
    actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
    target: { kind: 'secrets', secrets: ['join', 'control-plane', 'admin.conf'] },
    why: 'create the secrets (tagged for the cluster) or add new AWSCURRENT versions',
  },
  {
    sid: 'BootstrapMasterKeepClusterPki',
    role: 'control-plane',
    commands: ['boot', 'bootstrap-master'],
    actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
    target: { kind: 'secrets', secrets: ['pki'] },
    why: 'keep the cluster CAs and service-account keys outside etcd after kubeadm init',
  },
  {
    sid: 'BootstrapMasterJoinMasterRotateUseClusterKey',
    role: 'control-plane',
    commands: [...MASTER_FLOWS, 'rotate'],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    target: { kind: 'kms-key', secrets: ['join', 'control-plane', 'admin.conf', 'pki'] },
    why: 'Secrets Manager encrypts and decrypts the secrets with the cluster key',
  },

  {
    sid: 'BootRecoverReadClusterPki',
    role: 'control-plane',
    commands: ['boot'],
    actions: ['secretsmanager:GetSecretValue'],
    target: { kind: 'secrets', secrets: ['pki'] },
    why: "the recovery of a lost control plane: the cluster's CAs (to tell its etcd and API server from anything else at their addresses) and the PKI put back",
  },
  {
    sid: 'BootRecoverReadSnapshots',
    role: 'control-plane',
    commands: ['boot'],
    actions: ['s3:GetObject'],
    target: { kind: 'backup-objects' },
    why: 'the recovery of a lost control plane: download the newest etcd snapshot that verifies (only under <bucket>/<cluster>/etcd/)',
  },
  {
    sid: 'BootRecoverDecryptSnapshots',
    role: 'control-plane',
    commands: ['boot'],
    actions: ['kms:Decrypt'],
    target: { kind: 'backup-kms-key' },
    why: 'S3 decrypts the snapshots with the cluster key (SSE-KMS)',
  },
  {
    sid: 'EtcdSnapshotObjects',
    role: 'control-plane',
    commands: ['etcd-snapshot', 'leave'],
    actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
    target: { kind: 'backup-objects' },
    why: 'upload snapshots (multipart), abort a failed upload, read one back (restore), delete those past retention: only under <bucket>/<cluster>/etcd/',
  },
  {
    sid: 'EtcdSnapshotUseClusterKey',
    role: 'control-plane',
    commands: ['etcd-snapshot', 'leave'],
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    target: { kind: 'backup-kms-key' },
    why: 'S3 encrypts the snapshots with the cluster key (SSE-KMS; a multipart upload and a read need Decrypt too)',
  },

  ...leaveLifecycleGrants('control-plane'),
  stuckBootGrant('control-plane'),
  {
    sid: 'LeaveRemoveMemberRecord',
    role: 'control-plane',
    commands: ['leave', 'etcd-snapshot', 'etcd-recover'],
    actions: ['dynamodb:DeleteItem'],
    target: { kind: 'cluster-items' },
    why: "remove the leaving master's member record; delete the records of etcd snapshots past retention (with the snapshot lease checked)",
  },
  {
    sid: 'LeaveControllerHandleLeaveRequests',
    role: 'control-plane',
    commands: ['leave-controller'],
    actions: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    target: { kind: 'leave-requests' },
    why: "read the workers' leave requests, claim one (conditional), mark it done or refused, forget finished ones",
  },
  {
    sid: 'LeaveControllerVerifyLeaveRequests',
    role: 'control-plane',
    commands: ['leave-controller'],
    actions: ['autoscaling:DescribeAutoScalingInstances', 'ec2:DescribeInstances'],
    target: { kind: 'any-resource' },
    why: "check a request: Auto Scaling is terminating the instance (or EC2 shuts it down), and its node name and IP are EC2's",
  },

  // operator: kboot kubeconfig / status / ami from a laptop
  {
    sid: 'KubeconfigReadAdminConf',
    role: 'operator',
    commands: ['kubeconfig', 'cluster-upgrade'],
    actions: ['secretsmanager:GetSecretValue'],
    target: { kind: 'secrets', secrets: ['admin.conf'] },
    why: 'read the admin kubeconfig',
  },
  {
    sid: 'KubeconfigReadClusterRecord',
    role: 'operator',
    commands: ['kubeconfig'],
    actions: ['dynamodb:GetItem'],
    target: { kind: 'cluster-items' },
    why: 'read the admin.conf version the cluster record names (recorded under the bootstrap lease)',
  },
  {
    sid: 'KubeconfigDecryptAdminConf',
    role: 'operator',
    commands: ['kubeconfig', 'cluster-upgrade'],
    actions: ['kms:Decrypt'],
    target: { kind: 'kms-key', secrets: ['admin.conf'] },
    why: 'Secrets Manager decrypts admin.conf with the cluster key',
  },
  {
    sid: 'StatusQueryCluster',
    role: 'operator',
    commands: ['status'],
    actions: ['dynamodb:Query'],
    target: { kind: 'cluster-items' },
    why: 'read a cluster state (kboot status --cluster NAME)',
  },
  {
    sid: 'StatusListAllClusters',
    role: 'operator',
    commands: ['status'],
    actions: ['dynamodb:Scan'],
    target: { kind: 'whole-table' },
    why: 'list every cluster in the table (kboot status without --cluster)',
  },
  {
    sid: 'AmiDescribeImages',
    role: 'operator',
    commands: ['ami'],
    actions: ['ec2:DescribeImages'],
    target: { kind: 'any-resource' },
    why: 'find the newest available kboot AMI',
  },

  // operator: kboot cluster plan / create / destroy (cluster-grants.ts)
  ...CLUSTER_GRANT_SPECS.map((grant): Grant => ({ ...grant, role: 'operator' })),

  // operator: kboot cluster upgrade's own (upgrade-grants.ts)
  ...UPGRADE_GRANT_SPECS.map((grant): Grant => ({ ...grant, role: 'operator' })),
];

/**
 * kboot leave, on either role: find the instance's group and its termination hook (Describe*
 * calls have no resource-level permissions), then heartbeats and the completion, only on groups
 * tagged for the cluster.
 */
function leaveLifecycleGrants(role: IamRole): Grant[] {
  return [
    {
      sid: 'LeaveFindLifecycleAction',
      role,
      // boot: kboot boot-failed finds the group before marking the instance unhealthy.
      commands: ['leave', 'boot'],
      actions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLifecycleHooks'],
      target: { kind: 'any-resource' },
      why: "find this instance's Auto Scaling group and its kboot-leave termination hook",
    },
    {
      sid: 'LeaveCompleteLifecycleAction',
      role,
      commands: ['leave'],
      actions: ['autoscaling:RecordLifecycleActionHeartbeat', 'autoscaling:CompleteLifecycleAction'],
      target: { kind: 'cluster-groups' },
      why: 'record heartbeats while leaving, then complete the lifecycle action (CONTINUE)',
    },
  ];
}

/**
 * kboot boot-failed (kboot-boot-failed.service, after kboot boot spent its restart budget): the
 * instance marks itself unhealthy so its group replaces it; only in groups tagged for the cluster.
 */
function stuckBootGrant(role: IamRole): Grant {
  return {
    sid: 'BootReplaceStuckInstance',
    role,
    commands: ['boot'],
    actions: ['autoscaling:SetInstanceHealth'],
    target: { kind: 'cluster-groups' },
    why: 'after kboot boot spent its retries: mark this instance unhealthy so its Auto Scaling group replaces it',
  };
}

/** Every grant of a role, in catalogue order. */
export function grantsOf(role: IamRole): Grant[] {
  return GRANTS.filter((grant) => grant.role === role);
}

/** The IAM actions a command needs when run as the role (with a KMS key, and unscoped: all of them). */
export function commandActions(role: IamRole, command: KbootCommand): IamAction[] {
  const actions = new Set<IamAction>();
  for (const grant of grantsOf(role)) {
    if (grant.commands.includes(command)) for (const action of grant.actions) actions.add(action);
  }
  return [...actions].sort();
}
