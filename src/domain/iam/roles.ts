/** Who an IAM policy from `kboot iam-policy` is for. Tiny on purpose: the CLI registers it eagerly. */

export const IAM_ROLES = ['control-plane', 'worker', 'operator'] as const;
export type IamRole = (typeof IAM_ROLES)[number];

/** The operator's managed policies (operator-policies.ts), for `kboot iam-policy --policy`. */
export const OPERATOR_POLICY_NAMES = [
  'access',
  'cluster-state',
  'cluster-compute',
  'cluster-identity',
  'upgrade',
] as const;
export type OperatorPolicyName = (typeof OPERATOR_POLICY_NAMES)[number];
