import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterPk } from '../../../../src/adapters/aws/dynamodb-items.js';
import { UsageError } from '../../../../src/core/errors.js';
import {
  clusterLeadingKey,
  type PolicyScopeInput,
  partitionOf,
  resolvePolicyScope,
  SECRET_KINDS,
  scopeNotes,
  secretArnPattern,
  tableArn,
} from '../../../../src/domain/iam/scope.js';
import {
  adminConfSecretId,
  controlPlaneSecretId,
  joinSecretId,
  pkiSecretId,
} from '../../../../src/domain/join/secret-ids.js';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('policy scope', () => {
  it('defaults to every cluster, table kboot, any region and account', () => {
    const scope = resolvePolicyScope({});
    assert.deepEqual(scope, {
      cluster: undefined,
      table: 'kboot',
      region: '*',
      account: '*',
      partition: 'aws',
      kmsKey: undefined,
      irsaBucket: undefined,
      backupBucket: undefined,
    });
    assert.equal(tableArn(scope), 'arn:aws:dynamodb:*:*:table/kboot');
    assert.equal(secretArnPattern(scope, 'join'), 'arn:aws:secretsmanager:*:*:secret:kboot/*/join-??????');
  });

  it('scopes ARNs to the cluster, table, region and account given', () => {
    const scope = resolvePolicyScope({
      cluster: 'prod',
      table: 'state',
      region: 'eu-west-1',
      account: '123456789012',
    });
    assert.equal(tableArn(scope), 'arn:aws:dynamodb:eu-west-1:123456789012:table/state');
    assert.deepEqual(
      SECRET_KINDS.map((secret) => secretArnPattern(scope, secret)),
      [
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kboot/prod/join-??????',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kboot/prod/control-plane-??????',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kboot/prod/admin.conf-??????',
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kboot/prod/pki-??????',
      ],
    );
  });

  it('names the secrets and the leading key exactly as the adapters write them', () => {
    const scope = resolvePolicyScope({ cluster: 'prod-1.a_b' });
    const ids = [joinSecretId, controlPlaneSecretId, adminConfSecretId, pkiSecretId].map((id) =>
      id('prod-1.a_b'),
    );
    assert.deepEqual(
      SECRET_KINDS.map((secret) => secretArnPattern(scope, secret).replace(/^.*:secret:|-\?{6}$/g, '')),
      ids,
    );
    assert.equal(clusterLeadingKey('prod-1.a_b'), clusterPk('prod-1.a_b'));
  });

  const partitions = [
    ['us-east-1', 'aws'],
    ['eu-central-2', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ] as const;
  for (const [region, partition] of partitions) {
    it(`puts ${region} in partition ${partition}`, () => {
      assert.equal(partitionOf(region), partition);
      assert.equal(resolvePolicyScope({ region }).partition, partition);
    });
  }

  it('takes the region and partition from the KMS key when no region is given, never its account', () => {
    const scope = resolvePolicyScope({
      kmsKeyArn: 'arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef',
    });
    assert.equal(scope.region, 'cn-north-1');
    assert.equal(scope.partition, 'aws-cn');
    assert.equal(scope.account, '*');
    assert.equal(scope.kmsKey?.account, '111122223333');
  });

  const refused: { label: string; input: PolicyScopeInput; message: RegExp }[] = [
    {
      label: 'a cluster name with a slash',
      input: { cluster: 'a/b' },
      message: /invalid cluster name "a\/b"/,
    },
    { label: 'a cluster name with a wildcard', input: { cluster: 'a*' }, message: /invalid cluster name/ },
    { label: 'a short table name', input: { table: 'ab' }, message: /invalid table name "ab"/ },
    {
      label: 'a region that is not one',
      input: { region: 'us-east' },
      message: /invalid --region "us-east"/,
    },
    { label: 'a wildcard region', input: { region: '*' }, message: /invalid --region/ },
    { label: 'an 11-digit account', input: { account: '12345678901' }, message: /12 digits/ },
    {
      label: 'an alias ARN',
      input: { kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/kboot' },
      message: /expected the ARN of a KMS key/,
    },
    { label: 'a key id', input: { kmsKeyArn: '1234abcd-12ab' }, message: /expected the ARN of a KMS key/ },
    {
      label: 'a key in another region',
      input: { region: 'eu-west-1', kmsKeyArn: KEY },
      message: /in region us-east-1, not eu-west-1/,
    },
    {
      label: 'a key whose partition does not fit its region',
      input: { kmsKeyArn: 'arn:aws:kms:cn-north-1:123456789012:key/abc' },
      message: /partition aws, not aws-cn/,
    },
  ];
  for (const { label, input, message } of refused) {
    it(`refuses ${label} with a usage error and a hint`, () => {
      assert.throws(
        () => resolvePolicyScope(input),
        (error: unknown) =>
          error instanceof UsageError && message.test(error.message) && (error.hint ?? '').length > 0,
      );
    });
  }

  it('notes every wildcard the scope leaves open, and none when all is given', () => {
    assert.equal(scopeNotes(resolvePolicyScope({})).length, 3);
    assert.deepEqual(
      scopeNotes(resolvePolicyScope({ cluster: 'prod', region: 'us-east-1', account: '123456789012' })),
      [],
    );
    assert.deepEqual(
      scopeNotes(resolvePolicyScope({ cluster: 'prod', account: '123456789012', kmsKeyArn: KEY })),
      [],
      'the key gives the region',
    );
  });
});
