/**
 * A role's least-privilege IAM policy document for a scope: the role's grants (permissions.ts)
 * turned into statements with the scope's ARNs and conditions, and rendered as JSON. Pure.
 */

import { UsageError } from '../../core/errors.js';
import { WORKER_REQUEST_ATTRIBUTES } from '../leave/request.js';
import { type CloudControllerAction, cloudControllerStatement } from './cloud-controller.js';
import type { PolicyCondition } from './cluster-grants.js';
import { type Grant, grantsOf, type IamAction } from './permissions.js';
import type { IamRole } from './roles.js';
import {
  ANY,
  autoScalingGroupArnPattern,
  backupObjectsArn,
  clusterLeadingKey,
  clusterSecretsArnPattern,
  LEAVE_LEADING_KEY_PREFIX,
  leaveLeadingKey,
  type PolicyScope,
  type SecretSelection,
  s3ObjectArn,
  secretArnPattern,
  secretsManagerService,
  tableArn,
} from './scope.js';

export const POLICY_VERSION = '2012-10-17';

/** Condition operator → condition key → value(s). */
export type { PolicyCondition };

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

/** The ARNs of these secrets; all four as one pattern of the cluster's namespace, `kboot/<cluster>/*`. */
function secretPatterns(scope: PolicyScope, secrets: SecretSelection): string[] {
  if (secrets === 'every') return [clusterSecretsArnPattern(scope)];
  return secrets.map((secret) => secretArnPattern(scope, secret));
}

/** Whether IAM's wildcard pattern (`*`, `?`) matches the text (read literally). */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(text);
}

function valuesOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Every value of `narrow` is matched by one of `wide`'s. */
function patternsCover(wide: string[], narrow: string[]): boolean {
  return narrow.every((text) => wide.some((pattern) => globMatches(pattern, text)));
}

/**
 * `other` allows everything `statement` does: its actions, resources matching, and the same
 * condition keys with values that match (so `kboot/prod/*` covers `kboot/prod/admin.conf-??????`).
 */
function covers(other: PolicyStatement, statement: PolicyStatement): boolean {
  if (!statement.Action.every((action) => other.Action.includes(action))) return false;
  if (!patternsCover(other.Resource, statement.Resource)) return false;
  const mine = statement.Condition ?? {};
  const theirs = other.Condition ?? {};
  const keys = (condition: PolicyCondition) =>
    Object.entries(condition).flatMap(([operator, block]) =>
      Object.keys(block).map((key) => `${operator} ${key}`),
    );
  if (keys(theirs).some((key) => !keys(mine).includes(key))) return false;
  return Object.entries(theirs).every(([operator, block]) =>
    Object.entries(block).every(([key, value]) =>
      patternsCover(valuesOf(value), valuesOf(mine[operator]?.[key])),
    ),
  );
}

/** Leaves out a statement another one covers (the first of two equal ones stays). */
function withoutCovered(statements: PolicyStatement[]): PolicyStatement[] {
  return statements.filter(
    (statement, index) =>
      !statements.some(
        (other, otherIndex) =>
          otherIndex !== index &&
          covers(other, statement) &&
          (!covers(statement, other) || otherIndex < index),
      ),
  );
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
                'ForAllValues:StringEquals': {
                  'dynamodb:LeadingKeys': [
                    clusterLeadingKey(scope.cluster),
                    ...(target.leaveRequests === true ? [leaveLeadingKey(scope.cluster)] : []),
                  ],
                },
              },
            }),
      };
    case 'leave-requests': {
      // dynamodb:LeadingKeys names the partition key only: no condition key reaches the sort key,
      // so a worker may write a request naming any instance of its cluster (the controller checks).
      const condition: PolicyCondition =
        scope.cluster === undefined
          ? { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LEAVE_LEADING_KEY_PREFIX}*`] } }
          : { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [leaveLeadingKey(scope.cluster)] } };
      if (target.attributes === 'worker-request') {
        // PutItem only with the request's attributes: never a state, claim or outcome.
        condition['ForAllValues:StringEquals'] = {
          ...condition['ForAllValues:StringEquals'],
          'dynamodb:Attributes': [...WORKER_REQUEST_ATTRIBUTES],
        };
      }
      return { ...base, Resource: [tableArn(scope)], Condition: condition };
    }
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
      // Only with the bucket named (--irsa-bucket, addons.irsa): never objects of any bucket.
      return scope.irsaBucket === undefined
        ? undefined
        : { ...base, Resource: target.keys.map((key) => s3ObjectArn(scope, key)) };
    case 'backup-objects':
      return scope.backupBucket === undefined ? undefined : { ...base, Resource: [backupObjectsArn(scope)] };
    case 'backup-kms-key':
      if (scope.kmsKey === undefined || scope.backupBucket === undefined) return undefined;
      return {
        ...base,
        Resource: [scope.kmsKey.arn],
        Condition: stringConditions({
          'kms:ViaService': `s3.${scope.region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': backupObjectsArn(scope),
        }),
      };
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
    case 'arns': {
      // No ARN in this scope (the IRSA bucket's, without one): no statement.
      const arns = target.arns(scope);
      if (arns.length === 0) return undefined;
      return {
        ...base,
        Resource: arns,
        ...(target.condition === undefined ? {} : { Condition: target.condition(scope) }),
      };
    }
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
  /** Only the grants of these Sids (one of the operator's managed policies, operator-policies.ts). */
  sids?: readonly string[] | undefined;
}

/**
 * A node role's writes (join material, leases, the lifecycle action) can be scoped to a cluster
 * only when the cluster is named: a role for instances of every cluster would let a node of one
 * write another's state. So worker and control-plane policies need --cluster.
 */
export function assertPolicyInputs(role: IamRole, scope: PolicyScope): void {
  if (role !== 'operator' && scope.cluster === undefined) {
    throw new UsageError(`--role ${role} needs --cluster`, {
      hint:
        `a ${role} policy is scoped to one cluster (its secrets, state items and Auto Scaling groups): ` +
        'pass --cluster NAME; only the operator policy may cover every cluster',
    });
  }
}

export function policyDocument(
  role: IamRole,
  scope: PolicyScope,
  options: PolicyOptions = {},
): PolicyDocument {
  assertPolicyInputs(role, scope);
  const statements: PolicyStatement[] = [];
  for (const grant of grantsOf(role)) {
    if (options.sids !== undefined && !options.sids.includes(grant.sid)) continue;
    const statement = statementOf(grant, scope);
    if (statement !== undefined) statements.push(statement);
  }
  // kboot's own statements stay whole beside the cloud controller's (which is not deduplicated
  // against them: it is the controller's documented policy, added as it is).
  const own = withoutCovered(statements);
  if (options.cloudController === true && role === 'control-plane') own.push(cloudControllerStatement());
  return { Version: POLICY_VERSION, Statement: own };
}

/** Every action the document allows, sorted. */
export function documentActions(document: PolicyDocument): (IamAction | CloudControllerAction)[] {
  return [...new Set(document.Statement.flatMap((statement) => statement.Action))].sort();
}

/** The document as printed: JSON, two-space indent, final newline. */
export function renderPolicy(document: PolicyDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
