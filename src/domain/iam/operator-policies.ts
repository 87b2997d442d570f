/**
 * The operator's policy as several managed policies. One document no longer fits IAM's
 * 6,144-character limit of a managed policy (a cluster with a KMS key, an IRSA bucket and a
 * backup bucket already needs over 7,000), and IAM attaches up to 10 managed policies to a role.
 * So the operator's statements, unchanged (same Sids, resource-scoped ARNs, conditions), are
 * grouped by task and, within the cluster commands, by the resources they manage:
 * - access: kboot kubeconfig / status / ami (what a user who only reads a cluster needs);
 * - cluster-state: the state table, the cluster's secrets and the reads every cluster command makes;
 * - cluster-compute: the cluster key, launch templates, security groups, load balancers, groups;
 * - cluster-identity: the node roles and instance profiles, the IRSA provider and bucket, the backup bucket;
 * - upgrade: what kboot cluster upgrade needs beyond access and the cluster policies (upgrade-grants.ts).
 * Pure.
 */

import { type PolicyDocument, policyDocument } from './policy.js';
import type { OperatorPolicyName } from './roles.js';
import type { PolicyScope } from './scope.js';

/** IAM's limits: characters of a managed policy (whitespace not counted), managed policies per role. */
export const MANAGED_POLICY_MAX_CHARS = 6144;
export const MANAGED_POLICIES_PER_ROLE = 10;

/** Each operator statement's Sid in exactly one policy (test/unit/domain/iam/operator-policies.test.ts). */
export const OPERATOR_POLICIES = {
  access: [
    'KubeconfigReadAdminConf',
    'KubeconfigReadClusterRecord',
    'KubeconfigDecryptAdminConf',
    'StatusQueryCluster',
    'StatusListAllClusters',
    'AmiDescribeImages',
  ],
  'cluster-state': [
    'ClusterState',
    'ClusterCreateDestroyTable',
    'ClusterUnscopedReads',
    'ClusterManageSecrets',
    'ClusterCreateSecretsWithClusterKey',
  ],
  'cluster-compute': [
    'ClusterCreateTagged',
    'ClusterTagOnCreate',
    'ClusterCreateSecurityGroupInVpc',
    'ClusterManageTagged',
    'ClusterLaunchFromTemplate',
    'ClusterManageByName',
  ],
  'cluster-identity': [
    'ClusterManageIam',
    'ClusterManageIrsaOidcProvider',
    'ClusterManageIrsaBucket',
    'ClusterManageBackupBucket',
  ],
  upgrade: ['UpgradeWriteClusterRecord', 'UpgradeDescribeInstances', 'UpgradeRollClusterGroups'],
} as const satisfies Record<OperatorPolicyName, readonly string[]>;

export type { OperatorPolicyName };

export interface NamedPolicy {
  name: OperatorPolicyName;
  document: PolicyDocument;
}

/** One of the operator's managed policies in this scope (empty of statements when the scope leaves them all out). */
export function operatorPolicyDocument(scope: PolicyScope, name: OperatorPolicyName): PolicyDocument {
  return policyDocument('operator', scope, { sids: OPERATOR_POLICIES[name] });
}

/** The operator's managed policies in this scope, in OPERATOR_POLICIES' order; one the scope leaves empty is left out. */
export function operatorPolicyDocuments(scope: PolicyScope): NamedPolicy[] {
  return (Object.keys(OPERATOR_POLICIES) as OperatorPolicyName[])
    .map((name) => ({ name, document: operatorPolicyDocument(scope, name) }))
    .filter(({ document }) => document.Statement.length > 0);
}
