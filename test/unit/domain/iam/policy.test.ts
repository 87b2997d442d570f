import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_MAX_CHARS,
  operatorPolicyDocuments,
} from '../../../../src/domain/iam/operator-policies.js';
import { commandActions, GRANTS, grantsOf, type IamAction } from '../../../../src/domain/iam/permissions.js';
import {
  documentActions,
  type PolicyDocument,
  policyDocument,
  renderPolicy,
} from '../../../../src/domain/iam/policy.js';
import { IAM_ROLES, type IamRole } from '../../../../src/domain/iam/roles.js';
import { type PolicyScopeInput, resolvePolicyScope } from '../../../../src/domain/iam/scope.js';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ONE = { cluster: 'prod', region: 'us-east-1', account: '123456789012' };

const scopes: { label: string; input: PolicyScopeInput }[] = [
  { label: 'every cluster', input: {} },
  { label: 'one cluster', input: ONE },
  { label: 'one cluster with a KMS key', input: { ...ONE, kmsKeyArn: KEY } },
  { label: 'every cluster with a KMS key', input: { kmsKeyArn: KEY } },
  {
    label: 'one cluster with a KMS key and an IRSA bucket',
    input: { ...ONE, kmsKeyArn: KEY, irsaBucket: 'prod-oidc' },
  },
  { label: 'every cluster with an IRSA bucket', input: { irsaBucket: 'prod-oidc' } },
];

/** Node roles are scoped to one cluster: a policy for every cluster is the operator's only. */
function allowed(role: IamRole, input: PolicyScopeInput): boolean {
  return role === 'operator' || input.cluster !== undefined;
}

function policy(role: IamRole, input: PolicyScopeInput): PolicyDocument {
  return policyDocument(role, resolvePolicyScope(input));
}

function strings(document: PolicyDocument): string[] {
  return document.Statement.flatMap((statement) => [
    ...statement.Resource,
    ...Object.values(statement.Condition ?? {}).flatMap((block) => Object.values(block).flat()),
  ]);
}

describe('the permission catalogue', () => {
  it('gives every role grants with unique Sids of letters and digits', () => {
    for (const role of IAM_ROLES) {
      const sids = grantsOf(role).map((grant) => grant.sid);
      assert.ok(sids.length > 0, role);
      assert.equal(new Set(sids).size, sids.length, `${role}: duplicate Sid`);
      for (const sid of sids) assert.match(sid, /^[A-Za-z0-9]+$/);
    }
  });

  it('names at least one command in every grant, and says why', () => {
    for (const grant of GRANTS) {
      assert.ok(grant.commands.length > 0, grant.sid);
      assert.ok(grant.actions.length > 0, grant.sid);
      assert.ok(grant.why.length > 0, grant.sid);
    }
  });

  const perCommand: { role: IamRole; command: Parameters<typeof commandActions>[1]; actions: IamAction[] }[] =
    [
      {
        role: 'worker',
        command: 'join-node',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'ec2:DescribeTags',
          'kms:Decrypt',
          'secretsmanager:GetSecretValue',
        ],
      },
      { role: 'worker', command: 'identity', actions: ['ec2:DescribeTags'] },
      {
        role: 'control-plane',
        command: 'bootstrap-master',
        actions: [
          'dynamodb:ConditionCheckItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'ec2:DescribeTags',
          'elasticloadbalancing:DescribeLoadBalancers',
          'elasticloadbalancing:DescribeTags',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          's3:PutObject',
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:TagResource',
        ],
      },
      {
        role: 'control-plane',
        command: 'join-master',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          'ec2:DescribeInstances',
          'ec2:DescribeTags',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'secretsmanager:GetSecretValue',
        ],
      },
      { role: 'control-plane', command: 'status', actions: ['dynamodb:Query', 'ec2:DescribeTags'] },
      {
        role: 'operator',
        command: 'kubeconfig',
        actions: ['dynamodb:GetItem', 'kms:Decrypt', 'secretsmanager:GetSecretValue'],
      },
      { role: 'operator', command: 'status', actions: ['dynamodb:Query', 'dynamodb:Scan'] },
      { role: 'operator', command: 'ami', actions: ['ec2:DescribeImages'] },
      { role: 'operator', command: 'join-node', actions: [] },
    ];
  it('operator cluster-upgrade needs what a traced roll calls, its own grants among them', () => {
    const needed = commandActions('operator', 'cluster-upgrade');
    const called: IamAction[] = [
      'autoscaling:DescribeAutoScalingGroups',
      'autoscaling:TerminateInstanceInAutoScalingGroup',
      'autoscaling:UpdateAutoScalingGroup',
      'dynamodb:ConditionCheckItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'ec2:CreateLaunchTemplateVersion',
      'ec2:DescribeImages',
      'ec2:DescribeInstances',
      'ec2:DescribeLaunchTemplateVersions',
      'ec2:ModifyLaunchTemplate',
      'secretsmanager:GetSecretValue',
      // Authorized for UpdateAutoScalingGroup to a template version with an instance profile.
      'ec2:RunInstances',
      'iam:PassRole',
    ];
    for (const action of called) assert.ok(needed.includes(action), action);
  });

  for (const { role, command, actions } of perCommand) {
    it(`${role} ${command} needs ${actions.length === 0 ? 'nothing' : actions.join(', ')}`, () => {
      assert.deepEqual(commandActions(role, command), actions);
    });
  }
});

describe('policy documents', () => {
  for (const role of IAM_ROLES) {
    for (const { label, input } of scopes.filter((scope) => allowed(role, scope.input))) {
      it(`${role}, ${label}: the IAM shape, every statement with Sid, Effect, Action and Resource`, () => {
        const document = policy(role, input);
        assert.equal(document.Version, '2012-10-17');
        assert.ok(document.Statement.length > 0);
        for (const statement of document.Statement) {
          assert.deepEqual(
            Object.keys(statement).filter((key) => key !== 'Condition'),
            ['Sid', 'Effect', 'Action', 'Resource'],
          );
          assert.equal(statement.Effect, 'Allow');
          assert.ok(statement.Action.length > 0 && statement.Resource.length > 0, statement.Sid);
        }
        assert.equal(renderPolicy(document), `${JSON.stringify(document, null, 2)}\n`);
      });

      // A node role's policy is one managed policy; the operator's is several (operator-policies.ts).
      it(`${role}, ${label}: fits the 6,144-character limit of a managed policy, the operator's as its managed policies`, () => {
        const documents =
          role === 'operator'
            ? operatorPolicyDocuments(resolvePolicyScope(input)).map(({ document }) => document)
            : [policy(role, input)];
        assert.ok(documents.length > 0 && documents.length <= MANAGED_POLICIES_PER_ROLE);
        for (const document of documents) {
          const size = JSON.stringify(document).length;
          assert.ok(size <= MANAGED_POLICY_MAX_CHARS, `${size} characters`);
        }
      });
    }
  }

  it('grants the use of a KMS key only with a KMS key, always through Secrets Manager', () => {
    // The operator also manages the cluster key itself (kboot cluster create/destroy:
    // CreateKey, aliases, deletion); no role may use a key (Decrypt, GenerateDataKey) directly.
    const uses = (action: string) => action === 'kms:Decrypt' || action === 'kms:GenerateDataKey';
    for (const role of IAM_ROLES) {
      assert.ok(!documentActions(policy(role, ONE)).some(uses), role);
      const kms = policy(role, { ...ONE, kmsKeyArn: KEY }).Statement.filter((s) => s.Action.some(uses));
      assert.ok(kms.length > 0, role);
      for (const statement of kms) {
        assert.deepEqual(statement.Resource, [KEY]);
        assert.deepEqual(statement.Condition?.StringEquals, {
          'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com',
        });
        assert.ok(statement.Condition?.StringLike?.['kms:EncryptionContext:SecretARN'], statement.Sid);
      }
    }
  });

  it('never grants kms:Encrypt: kboot does not call KMS itself', () => {
    for (const role of IAM_ROLES) {
      assert.ok(
        !documentActions(policy(role, { ...ONE, kmsKeyArn: KEY })).includes('kms:Encrypt' as IamAction),
      );
    }
  });

  it('never lets a worker near the control-plane or admin.conf secrets, in any scope', () => {
    for (const { input } of scopes.filter((scope) => allowed('worker', scope.input))) {
      const document = policy('worker', input);
      for (const value of strings(document)) assert.doesNotMatch(value, /control-plane|admin\.conf/);
      assert.deepEqual(
        documentActions(document).filter((action) => action.startsWith('secretsmanager:')),
        ['secretsmanager:GetSecretValue'],
      );
    }
  });

  it('lets the operator read only admin.conf, masters join, control-plane, admin.conf and pki, workers join only', () => {
    const readers = (role: IamRole) =>
      policy(role, ONE)
        .Statement.filter((s) => s.Action.includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => s.Resource)
        .map((arn) => arn.replace(/^.*:secret:kboot\/prod\//, ''));
    assert.deepEqual(readers('operator'), ['admin.conf-??????']);
    // A master holds admin.conf and the cluster CA itself: rotate reads the published admin.conf
    // only to judge its client certificate's expiry.
    assert.deepEqual(readers('control-plane'), [
      'join-??????',
      'control-plane-??????',
      'admin.conf-??????',
      'pki-??????',
    ]);
    assert.deepEqual(readers('worker'), ['join-??????']);
  });

  it('limits every DynamoDB statement of a one-cluster policy to its leading key, with no Scan', () => {
    for (const role of IAM_ROLES) {
      const dynamo = policy(role, ONE).Statement.filter((s) =>
        s.Action.some((a) => a.startsWith('dynamodb:')),
      );
      assert.ok(dynamo.length > 0, role);
      for (const statement of dynamo) {
        // The cluster's items, or its leave requests (a partition of their own), or both (the
        // operator's, whose destroy deletes both partitions).
        const keys = statement.Condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'];
        assert.ok(
          ['["cluster#prod"]', '["leave#prod"]', '["cluster#prod","leave#prod"]'].includes(
            JSON.stringify(keys),
          ),
          `${statement.Sid}: ${JSON.stringify(statement.Condition)}`,
        );
        if (JSON.stringify(keys).includes('cluster#prod","leave')) assert.equal(role, 'operator');
        assert.deepEqual(Object.keys(statement.Condition ?? {}), ['ForAllValues:StringEquals']);
        assert.ok(!statement.Action.includes('dynamodb:Scan'), statement.Sid);
      }
    }
  });

  it('lets only the operator scan, and only in a policy for every cluster', () => {
    assert.ok(documentActions(policy('operator', {})).includes('dynamodb:Scan'));
    for (const role of IAM_ROLES) {
      assert.ok(!documentActions(policy(role, ONE)).includes('dynamodb:Scan'), role);
    }
  });

  it('limits actions without resource-level permissions to the region when it is known', () => {
    for (const role of IAM_ROLES) {
      for (const statement of policy(role, ONE).Statement.filter((s) => s.Resource.includes('*'))) {
        if (statement.Sid === 'ClusterCreateTagged') continue; // writes: scoped by the cluster tag instead
        assert.deepEqual(statement.Condition, { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } });
      }
      const everywhere = policy(role, { cluster: 'prod' }).Statement.filter((s) => s.Resource.includes('*'));
      for (const statement of everywhere) {
        // Without a region, only tag conditions (on writes) remain.
        for (const key of Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block)))
          assert.match(key, /^aws:RequestTag\//, statement.Sid);
      }
    }
  });
});

describe('etcd snapshot grants', () => {
  const BACKUP = { ...ONE, kmsKeyArn: KEY, backupBucket: 'prod-etcd-backups' };

  function statementsOn(document: PolicyDocument, service: string) {
    return document.Statement.filter((statement) =>
      (statement.Action as string[]).some((action) => action.startsWith(`${service}:`)),
    );
  }

  it("reach only the cluster's <bucket>/<cluster>/etcd/ objects, on the control plane only", () => {
    const s3 = statementsOn(policy('control-plane', BACKUP), 's3');
    assert.deepEqual(s3, [
      {
        Sid: 'EtcdSnapshotObjects',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        Resource: ['arn:aws:s3:::prod-etcd-backups/prod/etcd/*'],
      },
    ]);
    assert.deepEqual(statementsOn(policy('worker', BACKUP), 's3'), [], 'a worker reads no snapshot');
    assert.deepEqual(
      statementsOn(policy('operator', BACKUP), 's3').filter((s) => s.Sid.startsWith('EtcdSnapshot')),
      [],
    );
  });

  it('give no S3 statement at all without --backup-bucket (never objects of any bucket)', () => {
    const document = policy('control-plane', { ...ONE, kmsKeyArn: KEY });
    assert.ok(!document.Statement.some((statement) => statement.Sid.startsWith('EtcdSnapshot')));
  });

  it('use the cluster key only through S3, for the snapshot objects', () => {
    const key = policy('control-plane', BACKUP).Statement.find((s) => s.Sid === 'EtcdSnapshotUseClusterKey');
    assert.deepEqual(key?.Resource, [KEY]);
    assert.deepEqual(key?.Condition, {
      StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::prod-etcd-backups/prod/etcd/*' },
    });
  });

  it('refuses a backup bucket that is not a bucket name', () => {
    assert.throws(() => resolvePolicyScope({ ...ONE, backupBucket: 'Prod/../x' }), /invalid --backup-bucket/);
  });

  it('cover what kboot etcd snapshot calls', () => {
    assert.deepEqual(commandActions('control-plane', 'etcd-snapshot'), [
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'ec2:DescribeTags',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
    ]);
  });
});
