/** Who an IAM policy from `kboot iam-policy` is for. Tiny on purpose: the CLI registers it eagerly. */

export const IAM_ROLES = ['control-plane', 'worker', 'operator'] as const;
export type IamRole = (typeof IAM_ROLES)[number];
