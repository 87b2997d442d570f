/**
 * The cluster spec: defaults, the settling of name, region and table against the flags, every
 * refusal naming its field, and the reference table in docs/cluster.md kept equal to the schema's.
 */

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { parseClusterSpec, renderSpecReference, specFieldDocs } from '../../../../src/domain/cluster/spec.js';
import { repoRoot } from '../../../support/paths.js';

const BASE = `kubernetesVersion: 1.31.2
network:
  vpcId: vpc-0abc1234
  vpcCidr: 10.0.0.0/16
  subnets:
    - { id: subnet-0aaa1111, az: eu-west-1a, cidr: 10.0.0.0/20 }
    - { id: subnet-0bbb2222, az: eu-west-1b, cidr: 10.0.16.0/20 }
controlPlane: { count: 3, instanceType: m6i.large, ami: ami-0abc1234 }
`;

const parse = (text: string, defaults: Partial<Parameters<typeof parseClusterSpec>[2]> = {}) =>
  parseClusterSpec(text, 'cluster.yaml', { name: 'demo', fallbackRegion: 'eu-west-1', ...defaults });

function refusal(text: string, defaults: Partial<Parameters<typeof parseClusterSpec>[2]> = {}): string {
  try {
    parse(text, defaults);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('the spec was accepted');
}

describe('cluster spec', () => {
  it('fills defaults and settles name, region and table', () => {
    const spec = parse(BASE);
    assert.equal(spec.name, 'demo');
    assert.equal(spec.region, 'eu-west-1');
    assert.equal(spec.table, 'kboot');
    assert.equal(spec.network.podCidr, '10.244.0.0/16');
    assert.equal(spec.network.serviceCidr, '10.96.0.0/12');
    assert.deepEqual(spec.workers, { groups: [] });
    assert.deepEqual(spec.apiEndpoint, { scheme: 'internal' });
    assert.deepEqual(spec.tags, {});
    assert.deepEqual(spec.network.nodePortCidrs, []);
    assert.deepEqual(spec.network.securityGroupIds, []);
    assert.equal(parse(`region: us-east-1\ntable: state\n${BASE}`).region, 'us-east-1');
    assert.equal(parse(BASE, { region: 'us-west-2' }).region, 'us-west-2');
    assert.equal(parse(BASE, { table: 'from-flag' }).table, 'from-flag');
    assert.equal(parse(`name: demo\n${BASE}`).name, 'demo');
  });

  it('takes backup.bucket, made by kboot unless create is false, and refuses a bad one naming the field', () => {
    assert.deepEqual(parse(`${BASE}backup: { bucket: demo-etcd-backups }\n`).backup, {
      bucket: 'demo-etcd-backups',
      create: true,
    });
    assert.deepEqual(parse(`${BASE}backup: { bucket: shared.backups, create: false }\n`).backup, {
      bucket: 'shared.backups',
      create: false,
    });
    assert.equal(parse(BASE).backup, undefined);
    assert.match(
      refusal(`${BASE}backup: { bucket: Not_A_Bucket }\n`),
      /field backup\.bucket: expected an S3 bucket name/,
    );
    assert.match(refusal(`${BASE}backup: { create: false }\n`), /field backup\.bucket: required/);
    assert.match(
      refusal(`${BASE}backup: { bucket: ok-bucket, prefix: x }\n`),
      /unknown field backup\.prefix/,
    );
  });

  it('accepts an AMI query and worker groups', () => {
    const spec = parse(
      `${BASE.replace('ami: ami-0abc1234', 'ami: { tags: { kboot.io/version: 0.1.0 }, owners: [self] }')}workers:\n  groups:\n    - { name: general, instanceType: m6i.large, min: 1, max: 3, placement: per-az }\n`,
    );
    assert.deepEqual(spec.controlPlane.ami, { tags: { 'kboot.io/version': '0.1.0' }, owners: ['self'] });
    assert.equal(spec.workers.groups[0]?.placement, 'per-az');
  });

  const refusals: { label: string; text: string; defaults?: Record<string, string>; message: RegExp }[] = [
    { label: 'unknown top-level field', text: `${BASE}extra: 1\n`, message: /unknown field extra/ },
    {
      label: 'unknown field in a list item',
      text: BASE.replace('az: eu-west-1a,', 'az: eu-west-1a, zone: x,'),
      message: /unknown field network\.subnets\[0\]\.zone/,
    },
    {
      label: 'missing network',
      text: BASE.replace(/network:[\s\S]*?controlPlane/, 'controlPlane'),
      message: /field network: required/,
    },
    {
      label: 'no subnets',
      text: BASE.replace(/ {2}subnets:[\s\S]*?controlPlane/, '  subnets: []\ncontrolPlane'),
      message: /network\.subnets: give at least one subnet/,
    },
    {
      label: 'a bad VPC id',
      text: BASE.replace('vpc-0abc1234', 'vpc-XYZ'),
      message: /network\.vpcId: expected a VPC id/,
    },
    {
      label: 'a bad AMI',
      text: BASE.replace('ami-0abc1234', 'ubuntu'),
      message: /controlPlane\.ami: expected an AMI id/,
    },
    {
      label: 'overlapping subnets',
      text: BASE.replace('10.0.16.0/20', '10.0.8.0/21'),
      message:
        /network\.subnets\[\]\.cidr 10\.0\.0\.0\/20 overlaps network\.subnets\[\]\.cidr 10\.0\.8\.0\/21/,
    },
    {
      label: 'the same subnet twice',
      text: BASE.replace('subnet-0bbb2222', 'subnet-0aaa1111'),
      message: /network\.subnets\[1\]\.id: subnet-0aaa1111 is already network\.subnets\[0\]/,
    },
    {
      label: 'a kboot tag',
      text: `${BASE}tags: { kboot.io/cluster: x }\n`,
      message: /field tags\.kboot\.io\/cluster/,
    },
    {
      label: 'no region anywhere',
      text: BASE,
      defaults: { fallbackRegion: '' },
      message: /field region: required/,
    },
    {
      label: 'a region that differs from --region',
      text: `region: us-east-1\n${BASE}`,
      defaults: { region: 'eu-west-1' },
      message: /field region: "us-east-1" differs from --region "eu-west-1"/,
    },
    {
      label: 'a table that differs from --table',
      text: `table: a-table\n${BASE}`,
      defaults: { table: 'b-table' },
      message: /field table: "a-table" differs from --table or KBOOT_TABLE "b-table"/,
    },
    { label: 'a too-long --name', text: BASE, defaults: { name: 'a'.repeat(29) }, message: /--name "a{29}"/ },
    {
      label: 'desired outside min..max',
      text: `${BASE}workers: { groups: [ { name: g, instanceType: m6i.large, min: 1, max: 2, desired: 5 } ] }\n`,
      message: /workers\.groups\[0\]\.desired: must be between min and max/,
    },
    {
      label: 'two groups of one name',
      text: `${BASE}workers: { groups: [ { name: g, instanceType: m6i.large, min: 0, max: 1 }, { name: g, instanceType: m6i.large, min: 0, max: 1 } ] }\n`,
      message: /workers\.groups\[1\]\.name: "g" is already workers\.groups\[0\]/,
    },
    {
      label: 'a bad security group id',
      text: BASE.replace('vpcCidr: 10.0.0.0/16', 'vpcCidr: 10.0.0.0/16\n  securityGroupIds: [default]'),
      message: /network\.securityGroupIds\[0\]: expected a security group id/,
    },
    {
      label: 'more security groups than an instance can take',
      text: BASE.replace(
        'vpcCidr: 10.0.0.0/16',
        'vpcCidr: 10.0.0.0/16\n  securityGroupIds: [sg-0000000a, sg-0000000b, sg-0000000c, sg-0000000d, sg-0000000e]',
      ),
      message: /network\.securityGroupIds: at most 4/,
    },
    {
      label: 'a bad NodePort range',
      text: BASE.replace('vpcCidr: 10.0.0.0/16', 'vpcCidr: 10.0.0.0/16\n  nodePortCidrs: [everywhere]'),
      message: /network\.nodePortCidrs\[0\]: expected an IPv4 CIDR/,
    },
    { label: 'a duplicate YAML key', text: `${BASE}kubernetesVersion: 1.31.3\n`, message: /not valid YAML/ },
  ];
  for (const bad of refusals) {
    it(`refuses ${bad.label}`, () => {
      assert.match(refusal(bad.text, bad.defaults), bad.message);
    });
  }

  it('documents every field', () => {
    for (const row of specFieldDocs()) assert.notEqual(row.description, '', row.path);
  });

  it("docs/cluster.md's spec reference is the schema's (UPDATE_GOLDEN=1 rewrites it)", () => {
    const file = path.join(repoRoot(), 'docs', 'cluster.md');
    const page = readFileSync(file, 'utf8');
    const start = '<!-- cluster-spec-reference: generated from src/domain/cluster/spec.ts -->\n';
    const end = '<!-- /cluster-spec-reference -->';
    const from = page.indexOf(start);
    assert.ok(from >= 0, 'docs/cluster.md has the generated spec reference');
    const to = page.indexOf(end, from);
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(file, page.slice(0, from + start.length) + renderSpecReference() + page.slice(to));
      return;
    }
    assert.equal(
      page.slice(from + start.length, to),
      renderSpecReference(),
      'regenerate it: UPDATE_GOLDEN=1 node scripts/test.mjs test/unit/domain/cluster/spec.test.ts',
    );
  });
});
