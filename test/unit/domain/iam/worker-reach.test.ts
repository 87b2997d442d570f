/**
 * What a compromised worker can reach through its instance role, from the generated policy: no Secrets Manager write, no secret but the
 * join secret (never the former node-leave credential, control-plane or admin.conf), DynamoDB
 * writes only on its cluster's leave-request partition and only with a request's attributes, and
 * no other write but its own group's lifecycle actions and health. And the one secret it reads
 * holds no kubeconfig: no credential that can change a Node, a pod or a Secret.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../../../src/core/secrets.js';
import { type PolicyStatement, policyDocument } from '../../../../src/domain/iam/policy.js';
import { resolvePolicyScope } from '../../../../src/domain/iam/scope.js';
import { serializeJoinSecret } from '../../../../src/domain/join/material.js';
import { WORKER_REQUEST_ATTRIBUTES } from '../../../../src/domain/leave/request.js';

const KMS = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** A worker's policy always names its cluster (kboot iam-policy refuses one without --cluster). */
const SCOPES = {
  'with a KMS key': { cluster: 'prod', region: 'us-east-1', account: '123456789012', kmsKeyArn: KMS },
  without: { cluster: 'prod', region: 'us-east-1', account: '123456789012' },
} as const;

/** Read-only and describe actions: everything else a worker may call changes something. */
const READS =
  /^(dynamodb:(GetItem|Query)|secretsmanager:GetSecretValue|kms:Decrypt|ec2:Describe\w+|autoscaling:Describe\w+)$/;
const DYNAMODB_WRITES =
  /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|ConditionCheckItem|PartiQL\w+)$/;
/** The writes a worker keeps on its own Auto Scaling group (tag-conditioned to its cluster's groups). */
const OWN_GROUP_WRITES = new Set([
  'autoscaling:RecordLifecycleActionHeartbeat',
  'autoscaling:CompleteLifecycleAction',
  'autoscaling:SetInstanceHealth',
]);

function actions(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** IAM's ARN matching: `*` any run of characters, `?` one. */
function matchesArn(pattern: string, arn: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${regex}$`).test(arn);
}

function resources(statement: PolicyStatement): string[] {
  const resource = statement.Resource;
  return Array.isArray(resource) ? resource : [resource];
}

for (const [name, input] of Object.entries(SCOPES)) {
  describe(`a worker's policy (${name})`, () => {
    const scope = resolvePolicyScope(input);
    const statements = policyDocument('worker', scope).Statement;

    it('writes no secret and reads none but the join secret', () => {
      for (const statement of statements) {
        for (const action of actions(statement).filter((a) => a.startsWith('secretsmanager:'))) {
          assert.equal(action, 'secretsmanager:GetSecretValue', `${statement.Sid}: ${action}`);
          assert.deepEqual(resources(statement), [
            `arn:aws:secretsmanager:us-east-1:123456789012:secret:kboot/prod/join-??????`,
          ]);
        }
      }
      assert.ok(!JSON.stringify(statements).includes('node-leave'), 'no node-leave statement');
      assert.ok(!JSON.stringify(statements).includes('admin.conf'));
    });

    it("writes DynamoDB only in its cluster's leave partition, with a request's attributes only", () => {
      const writes = statements.filter((statement) =>
        actions(statement).some((a) => DYNAMODB_WRITES.test(a)),
      );
      assert.deepEqual(
        writes.flatMap(actions),
        ['dynamodb:PutItem'],
        'PutItem of a leave request only (no update, delete or transaction)',
      );
      for (const statement of writes) {
        const condition = statement.Condition ?? {};
        assert.deepEqual(condition['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'], ['leave#prod']);
        assert.deepEqual(condition['ForAllValues:StringEquals']?.['dynamodb:Attributes'], [
          ...WORKER_REQUEST_ATTRIBUTES,
        ]);
        assert.ok(!WORKER_REQUEST_ATTRIBUTES.includes('state' as never), 'never the state a master writes');
      }
    });

    it('cannot read the cluster PKI secret, nor decrypt it: no statement matches its ARN', () => {
      const pki = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kboot/prod/pki-AbCdEf';
      for (const statement of statements) {
        const secretActions = actions(statement).filter((a) => /^(secretsmanager|kms):|^\*$/.test(a));
        if (secretActions.length === 0) continue;
        for (const resource of resources(statement))
          assert.ok(!matchesArn(resource, pki), `${statement.Sid}: ${resource} matches ${pki}`);
        const contexts = JSON.stringify(statement.Condition ?? {});
        assert.ok(!contexts.includes('/pki'), `${statement.Sid}: its condition names the PKI secret`);
      }
      const controlPlane = policyDocument('control-plane', scope).Statement;
      assert.ok(
        controlPlane.some((statement) => resources(statement).some((resource) => matchesArn(resource, pki))),
        "the control-plane role's policy does name it (the check above can fail)",
      );
    });

    it('changes nothing else but its own group’s lifecycle action and health', () => {
      for (const statement of statements) {
        for (const action of actions(statement)) {
          if (READS.test(action) || action === 'dynamodb:PutItem') continue;
          assert.ok(OWN_GROUP_WRITES.has(action), `${statement.Sid}: ${action}`);
          assert.ok(
            statement.Condition !== undefined,
            `${statement.Sid}: ${action} is conditioned on the cluster`,
          );
        }
      }
    });
  });
}

describe('the secret a worker reads', () => {
  it('holds no kubeconfig or client credential: the API endpoint, a bootstrap token, CA hashes', () => {
    const text = serializeJoinSecret({
      schemaVersion: 1,
      apiEndpoint: 'prod-api.elb.us-east-1.amazonaws.com:6443',
      token: new Secret('abcdef.0123456789abcdef'),
      tokenExpiresAt: '2026-12-08T00:00:00Z',
      caCertHashes: [`sha256:${'a'.repeat(64)}`],
      kubernetesVersion: 'v1.31.2',
      updatedAt: '2026-12-07T00:00:00Z',
    });
    const fields = Object.keys(JSON.parse(text) as Record<string, unknown>).sort();
    assert.deepEqual(fields, [
      'apiEndpoint',
      'caCertHashes',
      'kubernetesVersion',
      'schemaVersion',
      'token',
      'tokenExpiresAt',
      'updatedAt',
    ]);
    assert.doesNotMatch(text, /kubeconfig|client-certificate|client-key|apiVersion: v1|users:/);
  });
});
