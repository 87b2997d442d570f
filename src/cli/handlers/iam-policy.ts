/**
 * `kboot iam-policy --role control-plane|worker|operator [--cluster NAME] [--table NAME]
 * [--region R] [--account ID] [--kms-key-arn ARN] [--irsa-bucket NAME] [--backup-bucket NAME] [--cloud-controller]
 * [--policy NAME]`: prints the role's least-privilege IAM policy document (JSON) on stdout; with
 * --policy, one of the operator's managed policies (operator-policies.ts). No AWS call. What the scope leaves open (every cluster, region or
 * account) is said on stderr, since JSON has no comments.
 */

import { UsageError } from '../../core/errors.js';
import { MANAGED_POLICY_MAX_CHARS, operatorPolicyDocument } from '../../domain/iam/operator-policies.js';
import { type PolicyDocument, policyDocument, renderPolicy } from '../../domain/iam/policy.js';
import {
  IAM_ROLES,
  type IamRole,
  OPERATOR_POLICY_NAMES,
  type OperatorPolicyName,
} from '../../domain/iam/roles.js';
import { resolvePolicyScope, scopeNotes } from '../../domain/iam/scope.js';
import type { CommandContext } from '../context.js';

export interface IamPolicyOptions {
  role: string;
  cluster?: string;
  /** --table, else KBOOT_TABLE, else "kboot". */
  table?: string;
  /** --region only (not AWS_REGION): a policy is for where the cluster runs, not where you are. */
  region?: string;
  account?: string;
  kmsKeyArn?: string;
  irsaBucket?: string;
  backupBucket?: string;
  /** control-plane: add the AWS cloud-controller-manager's actions (addons.cloudController). */
  cloudController?: boolean;
  /** operator: print one of its managed policies (operator-policies.ts), not the whole document. */
  policy?: string;
}

function parsePolicy(role: IamRole, policy: string | undefined): OperatorPolicyName | undefined {
  if (policy === undefined) return undefined;
  if (role !== 'operator') {
    throw new UsageError(`--policy is for --role operator, not ${role}`, {
      hint: `only the operator's policy is split into managed policies: drop --policy or use --role operator`,
    });
  }
  const found = OPERATOR_POLICY_NAMES.find((known) => known === policy);
  if (found === undefined) {
    throw new UsageError(`unknown --policy "${policy}"`, {
      hint: `use one of: ${OPERATOR_POLICY_NAMES.join(', ')}`,
    });
  }
  return found;
}

function parseRole(role: string): IamRole {
  const found = IAM_ROLES.find((known) => known === role);
  if (found === undefined) {
    throw new UsageError(`unknown --role "${role}"`, { hint: `use one of: ${IAM_ROLES.join(', ')}` });
  }
  return found;
}

export async function iamPolicy(options: IamPolicyOptions, ctx: CommandContext): Promise<void> {
  const role = parseRole(options.role);
  if (options.cloudController === true && role !== 'control-plane') {
    throw new UsageError(`--cloud-controller is for --role control-plane, not ${role}`, {
      hint: 'the AWS cloud-controller-manager runs on the control plane: drop --cloud-controller or use --role control-plane',
    });
  }
  const policy = parsePolicy(role, options.policy);
  const scope = resolvePolicyScope({
    cluster: options.cluster,
    table: options.table,
    region: options.region,
    account: options.account,
    kmsKeyArn: options.kmsKeyArn,
    irsaBucket: options.irsaBucket,
    backupBucket: options.backupBucket,
  });
  const logger = ctx.logger.child({ command: 'iam-policy', role });
  for (const note of scopeNotes(scope)) logger.warn(note);
  if (scope.irsaBucket === undefined && role !== 'worker') {
    logger.warn(
      'no --irsa-bucket: no S3 or OIDC provider statement (never on any bucket); a cluster with addons.irsa needs --irsa-bucket BUCKET',
    );
  }
  if (scope.backupBucket === undefined && role === 'control-plane') {
    logger.warn(
      'no --backup-bucket: no statement for etcd snapshots (kboot etcd snapshot); a cluster with backup.bucket needs --backup-bucket BUCKET',
    );
  }
  if (scope.backupBucket === undefined && role === 'operator') {
    logger.warn(
      "no --backup-bucket: no statement for the etcd snapshots' bucket; kboot cluster create/destroy of a spec with backup.bucket needs --backup-bucket BUCKET",
    );
  }
  if (scope.kmsKey !== undefined && options.region === undefined) {
    logger.info({ region: scope.region }, `the policy is for region ${scope.region}, the KMS key's region`);
  }
  const document: PolicyDocument =
    policy === undefined
      ? policyDocument(role, scope, { cloudController: options.cloudController })
      : operatorPolicyDocument(scope, policy);
  const size = JSON.stringify(document).length;
  if (policy === undefined && role === 'operator' && size > MANAGED_POLICY_MAX_CHARS) {
    logger.warn(
      { characters: size },
      `this operator policy is over the ${MANAGED_POLICY_MAX_CHARS} characters of an IAM managed policy: ` +
        `attach the operator's managed policies instead, each printed with --policy (${OPERATOR_POLICY_NAMES.join(', ')})`,
    );
  }
  ctx.output.text(renderPolicy(document));
}
