/**
 * What `kboot cluster upgrade` needs beyond the grants it shares with the other cluster commands
 * (cluster-grants.ts names it in those: the state items, the Describe* reads, the launch template
 * versions, RunInstances and iam:PassRole on the cluster's roles, UpdateAutoScalingGroup on its
 * groups) and with `kboot kubeconfig` (the admin.conf secret the health gate reads the cluster
 * through). Checked against a traced roll like every other grant (test/integration/iam-policy.test.ts).
 *
 * Implied permissions:
 * - the roll's writes are TransactWriteItems of a ConditionCheck on the upgrade lease and an Update
 *   of the record: dynamodb:ConditionCheckItem and dynamodb:UpdateItem;
 * - UpdateAutoScalingGroup to a new launch template version whose template names an instance
 *   profile is authorized for ec2:RunInstances and iam:PassRole too (ClusterManageTagged,
 *   ClusterLaunchFromTemplate, ClusterManageIam).
 */

import { CLUSTER_ARNS, type ConditionOf, RESOURCE_TAGGED } from './cluster-grants.js';
import type { PolicyScope } from './scope.js';

export type UpgradeCommand = 'cluster-upgrade';

export type UpgradeIamAction =
  | 'dynamodb:UpdateItem'
  | 'dynamodb:ConditionCheckItem'
  | 'ec2:DescribeInstances'
  | 'autoscaling:TerminateInstanceInAutoScalingGroup';

export interface UpgradeGrantSpec {
  sid: string;
  commands: UpgradeCommand[];
  actions: UpgradeIamAction[];
  target:
    | { kind: 'cluster-items' }
    | { kind: 'any-resource' }
    | { kind: 'arns'; arns: (scope: PolicyScope) => string[]; condition?: ConditionOf };
  why: string;
}

const UPGRADE: UpgradeCommand[] = ['cluster-upgrade'];

export const UPGRADE_GRANT_SPECS: readonly UpgradeGrantSpec[] = [
  {
    sid: 'UpgradeWriteClusterRecord',
    commands: UPGRADE,
    actions: ['dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
    target: { kind: 'cluster-items' },
    why: "the record's upgrade field (each step done, where it stopped, the version at the end), written in one transaction with the upgrade lease still held; the lease's renewals",
  },
  {
    sid: 'UpgradeDescribeInstances',
    commands: UPGRADE,
    actions: ['ec2:DescribeInstances'],
    target: { kind: 'any-resource' },
    why: "the groups' instances: their launch template version and private DNS name (the Node's), and when a replacement is running",
  },
  {
    sid: 'UpgradeRollClusterGroups',
    commands: UPGRADE,
    actions: ['autoscaling:TerminateInstanceInAutoScalingGroup'],
    target: { kind: 'arns', arns: CLUSTER_ARNS.groups, condition: RESOURCE_TAGGED },
    why: "replace an instance of the cluster's groups (kboot-<cluster>-*, tagged for it): terminated through its group, so the termination hook runs kboot leave",
  },
];
