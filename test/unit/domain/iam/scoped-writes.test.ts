/**
 * No write on a wildcard resource, in any policy kboot prints or attaches: every role, every
 * combination of the `kboot iam-policy` options. A statement with an action that changes
 * something (anything but Describe*, Get*, List*, Query, Scan, ConditionCheckItem) must name its
 * resources, or scope them by a name prefix of the cluster (in a policy for every cluster, by
 * kboot's own namespace `kboot-`/`kboot/`), or carry a tag condition (aws:RequestTag,
 * aws:ResourceTag, <service>:ResourceTag). The checker is tried on bad documents too, so it can
 * fail. Exceptions are listed, each checked for what makes it safe.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../../src/core/errors.js';
import { elbName, elbNamePrefix } from '../../../../src/domain/cluster/compute.js';
import {
  type PolicyDocument,
  type PolicyStatement,
  policyDocument,
} from '../../../../src/domain/iam/policy.js';
import { IAM_ROLES, type IamRole } from '../../../../src/domain/iam/roles.js';
import { type PolicyScopeInput, resolvePolicyScope } from '../../../../src/domain/iam/scope.js';

const CLUSTER = 'prod7';
const BUCKET = 'prod7-oidc';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const READ = /^[a-z0-9-]+:(Describe|Get|List|Query$|Scan$|ConditionCheckItem$)/;
const TAG_CONDITION = /^(aws:(RequestTag|ResourceTag)\/|[a-z0-9-]+:ResourceTag\/)/;

function conditionKeys(statement: PolicyStatement): string[] {
  return Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block));
}

/** The resource's name: what follows its type (`role/`, `secret:`, ...); an S3 ARN's whole path. */
export function resourceName(arn: string): string {
  const [, , service, , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  if (service === 's3') return resource;
  const group = resource.indexOf('autoScalingGroupName/');
  if (group >= 0) return resource.slice(group + 'autoScalingGroupName/'.length);
  return resource.replace(/^[A-Za-z-]+[/:]/, '');
}

/** What in a statement's writes is not scoped, as messages (empty: all scoped). */
export function unscopedWrites(
  document: PolicyDocument,
  scope: { cluster?: string | undefined; irsaBucket?: string | undefined },
): string[] {
  const problems: string[] = [];
  for (const statement of document.Statement) {
    const writes = statement.Action.filter((action) => !READ.test(action));
    if (writes.length === 0) continue;
    // The AWS cloud-controller-manager's documented policy, as given upstream (docs/security.md).
    if (statement.Sid === 'AwsCloudControllerManager') continue;
    if (conditionKeys(statement).some((key) => TAG_CONDITION.test(key))) continue;
    if (isVpcOfNewSecurityGroup(statement) || isLaunchFromTaggedTemplate(statement, document)) continue;
    for (const resource of statement.Resource) {
      const where = `${statement.Sid}: ${writes.join(', ')} on ${resource}`;
      if (resource === '*') {
        problems.push(`${where}: any resource, no tag condition`);
        continue;
      }
      const name = resourceName(resource);
      const wildcard = name.search(/[*?]/);
      if (wildcard < 0) continue;
      const prefix = name.slice(0, wildcard);
      // The cluster's names (kboot's namespace in a policy for every cluster), or the IRSA bucket's.
      const owned =
        (scope.irsaBucket !== undefined && prefix.includes(scope.irsaBucket)) ||
        (scope.cluster === undefined ? /kboot[-/]/.test(prefix) : prefix.includes(scope.cluster));
      if (!owned) problems.push(`${where}: "${name}" is not limited to the cluster's names`);
    }
  }
  return problems;
}

/** CreateSecurityGroup is authorized on the VPC it goes in, which it does not change. */
function isVpcOfNewSecurityGroup(statement: PolicyStatement): boolean {
  return (
    statement.Action.length === 1 &&
    statement.Action[0] === 'ec2:CreateSecurityGroup' &&
    statement.Resource.every((arn) => /:vpc\/\*$/.test(arn))
  );
}

/**
 * RunInstances is authorized on every resource of a launch: this statement admits only what the
 * launch template names (ec2:IsLaunchTemplateResource), never the template itself, and another
 * statement admits only templates that carry the cluster's tag.
 */
function isLaunchFromTaggedTemplate(statement: PolicyStatement, document: PolicyDocument): boolean {
  return (
    statement.Action.length === 1 &&
    statement.Action[0] === 'ec2:RunInstances' &&
    statement.Condition?.Bool?.['ec2:IsLaunchTemplateResource'] === 'true' &&
    !statement.Resource.some((arn) => arn.includes(':launch-template/')) &&
    document.Statement.some(
      (other) =>
        other.Action.includes('ec2:RunInstances') &&
        other.Resource.some((arn) => arn.includes(':launch-template/')) &&
        conditionKeys(other).some((key) => /^aws:ResourceTag\//.test(key)),
    )
  );
}

/** Every combination of the options of `kboot iam-policy`. */
function combinations(): { input: PolicyScopeInput; cloudController: boolean; label: string }[] {
  const out: { input: PolicyScopeInput; cloudController: boolean; label: string }[] = [];
  for (const cluster of [undefined, CLUSTER])
    for (const region of [undefined, 'us-east-1'])
      for (const account of [undefined, '123456789012'])
        for (const kmsKeyArn of [undefined, KEY])
          for (const irsaBucket of [undefined, BUCKET])
            for (const table of [undefined, 'state'])
              for (const cloudController of [false, true]) {
                const input = { cluster, region, account, kmsKeyArn, irsaBucket, table };
                out.push({ input, cloudController, label: JSON.stringify({ ...input, cloudController }) });
              }
  return out;
}

describe('no write on a wildcard resource', () => {
  for (const role of IAM_ROLES) {
    it(`${role}: every option combination scopes every write, or is refused for a missing input`, () => {
      let walked = 0;
      for (const { input, cloudController, label } of combinations()) {
        if (cloudController && role !== 'control-plane') continue;
        const scope = resolvePolicyScope(input);
        if (role !== 'operator' && input.cluster === undefined) {
          assert.throws(
            () => policyDocument(role, scope, { cloudController }),
            (error: unknown) =>
              error instanceof UsageError && error.exitCode === 2 && /needs --cluster/.test(error.message),
            label,
          );
          continue;
        }
        const document = policyDocument(role, scope, { cloudController });
        assert.deepEqual(unscopedWrites(document, input), [], `${role} ${label}`);
        walked += 1;
      }
      assert.ok(walked >= 32, `${role}: ${walked} policies walked`);
    });
  }

  it('writes the IRSA documents only with the bucket named, and never to any bucket', () => {
    for (const role of IAM_ROLES) {
      const without = JSON.stringify(policyDocument(role, resolvePolicyScope({ cluster: CLUSTER })));
      assert.doesNotMatch(without, /arn:aws:s3:::/, role);
      assert.doesNotMatch(without, /oidc-provider/, role);
      const withBucket = JSON.stringify(
        policyDocument(role, resolvePolicyScope({ cluster: CLUSTER, irsaBucket: BUCKET })),
      );
      assert.doesNotMatch(withBucket, /arn:aws:s3:::\*/, role);
    }
    const controlPlane = policyDocument(
      'control-plane',
      resolvePolicyScope({ cluster: CLUSTER, irsaBucket: BUCKET }),
    );
    assert.deepEqual(
      controlPlane.Statement.filter((s) => s.Action.includes('s3:PutObject')).flatMap((s) => s.Resource),
      [`arn:aws:s3:::${BUCKET}/.well-known/openid-configuration`, `arn:aws:s3:::${BUCKET}/openid/v1/jwks`],
    );
  });

  const bad: { label: string; statement: PolicyStatement }[] = [
    {
      label: 'PutObject in any bucket',
      statement: {
        Sid: 'A',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: ['arn:aws:s3:::*/.well-known/openid-configuration'],
      },
    },
    {
      label: 'CreateBucket on every bucket',
      statement: { Sid: 'B', Effect: 'Allow', Action: ['s3:CreateBucket'], Resource: ['arn:aws:s3:::*'] },
    },
    {
      label: 'TagResource on every key',
      statement: {
        Sid: 'C',
        Effect: 'Allow',
        Action: ['kms:TagResource'],
        Resource: ['arn:aws:kms:us-east-1:123456789012:key/*'],
      },
    },
    {
      label: 'CreateOpenIDConnectProvider on every provider',
      statement: {
        Sid: 'D',
        Effect: 'Allow',
        Action: ['iam:CreateOpenIDConnectProvider'],
        Resource: ['arn:aws:iam::123456789012:oidc-provider/*'],
      },
    },
    {
      label: 'a write on * with only a region condition',
      statement: {
        Sid: 'E',
        Effect: 'Allow',
        Action: ['ec2:RunInstances'],
        Resource: ['*'],
        Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
      },
    },
    {
      label: "another cluster's roles",
      statement: {
        Sid: 'F',
        Effect: 'Allow',
        Action: ['iam:CreateRole'],
        Resource: ['arn:aws:iam::123456789012:role/kboot/kboot-*'],
      },
    },
  ];
  for (const { label, statement } of bad) {
    it(`flags ${label}`, () => {
      const document: PolicyDocument = { Version: '2012-10-17', Statement: [statement] };
      assert.equal(unscopedWrites(document, { cluster: CLUSTER }).length, 1);
    });
  }

  it("names the cluster's load balancers by a prefix their names always start with, short or shortened", () => {
    for (const cluster of ['prod', 'a-cluster-name-long-enough-to-be-shortened-by-elb', 'x.y_z']) {
      const prefix = elbNamePrefix(cluster);
      assert.ok(
        elbName(cluster, 'api').startsWith(prefix),
        `${cluster}: ${elbName(cluster, 'api')} / ${prefix}`,
      );
      assert.ok(prefix.startsWith('kboot-') && prefix.length > 'kboot-'.length);
    }
    assert.equal(elbNamePrefix('prod'), 'kboot-prod-');
  });

  it('refuses a node role for every cluster, exit 2, naming --cluster', () => {
    for (const role of ['worker', 'control-plane'] as IamRole[]) {
      assert.throws(
        () => policyDocument(role, resolvePolicyScope({})),
        (error: unknown) =>
          error instanceof UsageError &&
          error.exitCode === 2 &&
          error.message === `--role ${role} needs --cluster`,
      );
    }
  });
});
