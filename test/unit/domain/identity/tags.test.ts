import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../../src/core/errors.js';
import {
  clusterNameFromTags,
  parseRole,
  roleFromTags,
  tableFromTags,
  tagKeysToRead,
} from '../../../../src/domain/identity/tags.js';

describe('clusterNameFromTags', () => {
  const cases: { tags: Record<string, string | undefined>; name: string }[] = [
    { tags: { 'kubernetes.io/cluster/prod': 'owned' }, name: 'prod' },
    { tags: { 'kubernetes.io/cluster/prod': 'shared' }, name: 'prod' },
    { tags: { 'kubernetes.io/cluster/prod': undefined }, name: 'prod' },
    { tags: { 'kboot.io/cluster': 'dev-1' }, name: 'dev-1' },
    { tags: { 'kubernetes.io/cluster/a': 'owned', 'kboot.io/cluster': 'a', Name: 'x' }, name: 'a' },
    { tags: { KubernetesCluster: 'legacy' }, name: 'legacy' },
    { tags: { 'kboot.io:cluster': 'imds-safe', KubernetesCluster: 'imds-safe' }, name: 'imds-safe' },
  ];
  for (const { tags, name } of cases) {
    it(`reads ${name} from ${JSON.stringify(tags)}`, () => assert.equal(clusterNameFromTags(tags), name));
  }

  const errors: { tags: Record<string, string>; message: RegExp }[] = [
    { tags: {}, message: /no cluster tag \(kubernetes\.io\/cluster\/<name> or kboot\.io\/cluster\)/ },
    { tags: { Name: 'web' }, message: /no cluster tag/ },
    {
      tags: { 'kubernetes.io/cluster/a': 'owned', 'kubernetes.io/cluster/b': 'owned' },
      message: /two clusters: "a".*"b"/,
    },
    { tags: { 'kubernetes.io/cluster/a': 'owned', 'kboot.io/cluster': 'b' }, message: /two clusters/ },
    {
      tags: { KubernetesCluster: 'a', 'kboot.io:cluster': 'b' },
      message: /two clusters: "a" \(tag kboot\.io:cluster\)|two clusters/,
    },
    { tags: { 'kubernetes.io/cluster/a': 'mine' }, message: /has value "mine"/ },
    { tags: { 'kboot.io/cluster': 'bad name!' }, message: /invalid cluster name/ },
  ];
  for (const { tags, message } of errors) {
    it(`rejects ${JSON.stringify(tags)}`, () => {
      assert.throws(
        () => clusterNameFromTags(tags),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, message);
          assert.ok(error.hint && error.hint.length > 0);
          return true;
        },
      );
    });
  }
});

describe('parseRole', () => {
  for (const [value, role] of [
    ['control-plane', 'control-plane'],
    ['master', 'control-plane'],
    ['Worker', 'worker'],
    ['node', 'worker'],
  ] as const) {
    it(`maps ${value} to ${role}`, () => assert.equal(parseRole(value), role));
  }
  it('refuses a missing role, naming the tag', () => {
    assert.throws(() => parseRole(undefined), /no kboot\.io\/role tag/);
  });
  it('refuses an unknown role, naming the value and the accepted ones', () => {
    assert.throws(() => parseRole('etcd'), /unknown value "etcd"/);
  });
});

describe('roleFromTags and tableFromTags', () => {
  it('accepts the IMDS-safe spellings', () => {
    assert.equal(roleFromTags({ 'kboot.io:role': 'node' }), 'worker');
    assert.equal(tableFromTags({ 'kboot.io:table': 'state' }), 'state');
    assert.equal(tableFromTags({}), undefined);
  });
  it('names the tag that holds an unknown role', () => {
    assert.throws(
      () => roleFromTags({ 'kboot.io:role': 'boss' }),
      /tag kboot\.io:role has unknown value "boss"/,
    );
  });
  it('accepts both role spellings when they mean the same role (aliases too)', () => {
    assert.equal(roleFromTags({ 'kboot.io/role': 'worker', 'kboot.io:role': 'node' }), 'worker');
    assert.equal(
      roleFromTags({ 'kboot.io/role': 'master', 'kboot.io:role': 'control-plane' }),
      'control-plane',
    );
  });
  for (const tags of [
    { 'kboot.io/role': 'worker', 'kboot.io:role': 'control-plane' },
    { 'kboot.io/role': 'control-plane', 'kboot.io:role': 'node' },
  ]) {
    it(`refuses role tags that disagree, naming both: ${JSON.stringify(tags)}`, () => {
      assert.throws(
        () => roleFromTags(tags),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.equal(error.exitCode, 2);
          for (const [key, value] of Object.entries(tags))
            assert.ok(error.message.includes(`${key}=${value}`));
          return true;
        },
      );
    });
  }
  it('refuses table tags that disagree, naming both', () => {
    assert.throws(
      () => tableFromTags({ 'kboot.io/table': 'a-table', 'kboot.io:table': 'b-table' }),
      /two table tags that disagree: kboot\.io\/table=a-table and kboot\.io:table=b-table/,
    );
    assert.equal(tableFromTags({ 'kboot.io/table': 'same', 'kboot.io:table': 'same' }), 'same');
  });
});

describe('tagKeysToRead', () => {
  it('reads only the values kboot needs', () => {
    assert.deepEqual(
      tagKeysToRead([
        'Name',
        'kubernetes.io/cluster/a',
        'kboot.io/role',
        'aws:autoscaling:groupName',
        'kboot.io/table',
        'KubernetesCluster',
        'kboot.io:role',
      ]),
      ['kboot.io/role', 'kboot.io/table', 'KubernetesCluster', 'kboot.io:role'],
    );
  });
});
