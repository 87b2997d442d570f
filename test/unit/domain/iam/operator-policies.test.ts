import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_MAX_CHARS,
  OPERATOR_POLICIES,
  operatorPolicyDocuments,
} from '../../../../src/domain/iam/operator-policies.js';
import { grantsOf } from '../../../../src/domain/iam/permissions.js';
import { documentActions, policyDocument } from '../../../../src/domain/iam/policy.js';
import { type PolicyScopeInput, resolvePolicyScope } from '../../../../src/domain/iam/scope.js';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ONE = { cluster: 'prod', region: 'us-east-1', account: '123456789012' };
const EVERYTHING = { kmsKeyArn: KEY, irsaBucket: 'b'.repeat(63), backupBucket: 'c'.repeat(63) };

const scopes: { label: string; input: PolicyScopeInput }[] = [
  { label: 'every cluster', input: {} },
  { label: 'one cluster', input: ONE },
  { label: 'every cluster with a KMS key and both buckets', input: EVERYTHING },
  { label: 'one cluster with a KMS key and both buckets', input: { ...ONE, ...EVERYTHING } },
  {
    label: 'a long cluster name with a KMS key and both buckets',
    input: { ...ONE, cluster: 'a-rather-long-production-cluster-name', ...EVERYTHING },
  },
];

describe("the operator's managed policies", () => {
  it('holds every operator statement in exactly one policy, and no other Sid', () => {
    const placed: string[] = Object.values(OPERATOR_POLICIES).flat();
    assert.deepEqual(
      [...placed].sort(),
      grantsOf('operator')
        .map((grant) => grant.sid)
        .sort(),
    );
  });

  for (const { label, input } of scopes) {
    const scope = resolvePolicyScope(input);
    const policies = operatorPolicyDocuments(scope);

    it(`${label}: each policy fits IAM's limits`, () => {
      assert.ok(policies.length <= MANAGED_POLICIES_PER_ROLE);
      for (const { name, document } of policies) {
        const size = JSON.stringify(document).length;
        assert.ok(size <= MANAGED_POLICY_MAX_CHARS, `${name}: ${size} characters`);
        assert.ok(document.Statement.length > 0, name);
      }
    });

    it(`${label}: the policies together hold every statement of the whole operator policy, unchanged`, () => {
      const whole = policyDocument('operator', scope);
      const split = policies.flatMap(({ document }) =>
        document.Statement.map((statement) => JSON.stringify(statement)),
      );
      for (const statement of whole.Statement)
        assert.ok(split.includes(JSON.stringify(statement)), statement.Sid);
      assert.deepEqual(
        [...new Set(policies.flatMap(({ document }) => documentActions(document)))].sort(),
        documentActions(whole),
      );
    });
  }

  it('is larger than one managed policy holds as a whole, which is why it is split', () => {
    const whole = policyDocument('operator', resolvePolicyScope(scopes[4]?.input ?? {}));
    assert.ok(JSON.stringify(whole).length > MANAGED_POLICY_MAX_CHARS);
  });
});
