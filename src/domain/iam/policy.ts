/**
 * A role's least-privilege IAM policy document for a scope: the role's grants (permissions.ts)
 * turned into statements with the scope's ARNs and conditions, and rendered as JSON. Pure.
 */

import { type CloudControllerAction, cloudControllerStatement } from './cloud-controller.js';
import { type Grant, grantsOf, type IamAction } from './permissions.js';
import type { IamRole } from './roles.js';
import {
  ANY,
  autoScalingGroupArnPattern,
  clusterLeadingKey,
  type PolicyScope,
  type SecretKind,
  s3ObjectArn,
  secretArnPattern,
  secretsManagerService,
  tableArn,
} from './scope.js';

export const POLICY_VERSION = '2012-10-17';

/** Condition operator → condition key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  /** kboot's own actions, or (its own statement) the AWS cloud-controller-manager's. */
  Action: (IamAction | CloudControllerAction)[];
  Resource: string[];
  Condition?: PolicyCondition;
}

export interface PolicyDocument {
  Version: typeof POLICY_VERSION;
  Statement: PolicyStatement[];
}

function hasWildcard(value: string): boolean {
  return value.includes('*') || value.includes('?');
}

/** One condition block from key → value(s): StringLike where a value has a wildcard, else StringEquals. */
function stringConditions(entries: Record<string, string | string[]>): PolicyCondition {
  const condition: PolicyCondition = {};
  for (const [key, value] of Object.entries(entries)) {
    const values = Array.isArray(value) ? value : [value];
    const operator = values.some(hasWildcard) ? 'StringLike' : 'StringEquals';
    condition[operator] = { ...condition[operator], [key]: value };
  }
  return condition;
}

function secretPatterns(scope: PolicyScope, secrets: readonly SecretKind[]): string[] {
  return secrets.map((secret) => secretArnPattern(scope, secret));
}

/** The statement of one grant in this scope, or undefined when the scope leaves it out. */
function statementOf(grant: Grant, scope: PolicyScope): PolicyStatement | undefined {
  const base = { Sid: grant.sid, Effect: 'Allow' as const, Action: [...grant.actions] };
  const target = grant.target;
  switch (target.kind) {
    case 'cluster-items':
      return {
        ...base,
        Resource: [tableArn(scope)],
        ...(scope.cluster === undefined
          ? {}
          : {
              Condition: {
                'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [clusterLeadingKey(scope.cluster)] },
              },
            }),
      };
    case 'whole-table':
      return scope.cluster === undefined ? { ...base, Resource: [tableArn(scope)] } : undefined;
    case 'secrets':
      return { ...base, Resource: secretPatterns(scope, target.secrets) };
    case 'kms-key': {
      if (scope.kmsKey === undefined) return undefined;
      const secretArns = secretPatterns(scope, target.secrets);
      return {
        ...base,
        Resource: [scope.kmsKey.arn],
        Condition: stringConditions({
          'kms:ViaService': secretsManagerService(scope),
          'kms:EncryptionContext:SecretARN': secretArns.length === 1 ? (secretArns[0] as string) : secretArns,
        }),
      };
    }
    case 's3-objects':
      return { ...base, Resource: target.keys.map((key) => s3ObjectArn(scope, key)) };
    case 'cluster-groups':
      return {
        ...base,
        Resource: [autoScalingGroupArnPattern(scope)],
        ...(scope.cluster === undefined
          ? {}
          : {
              Condition: stringConditions({
                [`autoscaling:ResourceTag/kubernetes.io/cluster/${scope.cluster}`]: ['owned', 'shared'],
              }),
            }),
      };
    case 'arns':
      return { ...base, Resource: target.arns(scope) };
    case 'any-resource':
      return {
        ...base,
        Resource: [ANY],
        ...(scope.region === ANY
          ? {}
          : { Condition: stringConditions({ 'aws:RequestedRegion': scope.region }) }),
      };
  }
}

export interface PolicyOptions {
  /** control-plane: also what the AWS cloud-controller-manager needs (cloud-controller.ts). */
  cloudController?: boolean | undefined;
}

export function policyDocument(
  role: IamRole,
  scope: PolicyScope,
  options: PolicyOptions = {},
): PolicyDocument {
  const statements: PolicyStatement[] = [];
  for (const grant of grantsOf(role)) {
    const statement = statementOf(grant, scope);
    if (statement !== undefined) statements.push(statement);
  }
  if (options.cloudController === true && role === 'control-plane')
    statements.push(cloudControllerStatement());
  return { Version: POLICY_VERSION, Statement: statements };
}

/** Every action the document allows, sorted. */
export function documentActions(document: PolicyDocument): (IamAction | CloudControllerAction)[] {
  return [...new Set(document.Statement.flatMap((statement) => statement.Action))].sort();
}

/** The document as printed: JSON, two-space indent, final newline. */
export function renderPolicy(document: PolicyDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
