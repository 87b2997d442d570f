import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkNetwork } from '../../../../src/domain/cidr/check.js';
import { planNetwork } from '../../../../src/domain/cidr/plan.js';
import {
  checkToJson,
  planToJson,
  renderCheckText,
  renderPlanText,
  renderTable,
} from '../../../../src/domain/cidr/render.js';
import { repoRoot } from '../../../support/paths.js';

const PLAN_10_20_3_AZS = `VPC 10.20.0.0/16: subnets for 3 availability zones

AZ  ROLE           CIDR            ADDRESSES  USABLE
a   worker         10.20.0.0/18        16384   16379
b   worker         10.20.64.0/18       16384   16379
c   worker         10.20.128.0/18      16384   16379
a   control-plane  10.20.192.0/21       2048    2043
b   control-plane  10.20.200.0/21       2048    2043
c   control-plane  10.20.208.0/21       2048    2043
a   public         10.20.216.0/21       2048    2043
b   public         10.20.224.0/21       2048    2043
c   public         10.20.232.0/21       2048    2043
-   spare          10.20.240.0/20       4096       -
(USABLE: ADDRESSES minus the 5 AWS reserves in every subnet)

RANGE                  VALUE          SOURCE
pod CIDR               10.244.0.0/16  default, outside the VPC; 256 nodes at a /24 each
service CIDR           10.96.0.0/12   default, outside the VPC and the pod CIDR
API server service IP  10.96.0.1      service CIDR + 1
cluster DNS IP         10.96.0.10     service CIDR + 10 (kubelet clusterDNS)`;

describe('renderTable', () => {
  it('pads columns to the widest cell, right-aligns where asked, and trims line ends', () => {
    assert.equal(
      renderTable(
        ['A', 'NUMBER', 'C'],
        [
          ['xx', '7', ''],
          ['y', '1234567', 'z'],
        ],
        ['left', 'right'],
      ),
      'A    NUMBER  C\nxx        7\ny   1234567  z',
    );
  });
});

describe('renderPlanText', () => {
  it('renders the documented example exactly', () => {
    assert.equal(renderPlanText(planNetwork({ vpcCidr: '10.20.0.0/16', azCount: 3 })), PLAN_10_20_3_AZS);
  });

  it('is shown as it renders in docs/cluster.md', () => {
    const page = readFileSync(path.join(repoRoot(), 'docs', 'cluster.md'), 'utf8');
    const example = `$ kboot cidr plan --vpc-cidr 10.20.0.0/16 --azs 3\n${PLAN_10_20_3_AZS}\n\`\`\``;
    assert.ok(page.includes(example), 'docs/cluster.md "Planning network ranges" shows this plan exactly');
  });

  it('flags pods that share the VPC range, in the table and in a note', () => {
    const text = renderPlanText(planNetwork({ vpcCidr: '10.20.0.0/16', azCount: 3, podsInVpc: true }));
    assert.match(
      text,
      /^pod CIDR +10\.20\.0\.0\/16 +the VPC range \(--pods-in-vpc\): pod IPs come from the subnets$/m,
    );
    assert.match(text, /^NOTE: pods share the VPC range \(--pods-in-vpc\)/m);
  });

  it('says where a given range came from', () => {
    const text = renderPlanText(
      planNetwork({
        vpcCidr: '10.20.0.0/16',
        azCount: 3,
        podCidr: '10.20.0.0/17',
        podsInVpc: true,
        serviceCidr: '172.20.0.0/16',
      }),
    );
    assert.match(text, /given \(--pod-cidr\), inside the VPC \(--pods-in-vpc\)/);
    assert.match(text, /given \(--service-cidr\), outside the VPC and the pod CIDR/);
  });
});

describe('planToJson', () => {
  it('gives scripts flat keys, strings for ranges and numbers for counts', () => {
    const json = planToJson(planNetwork({ vpcCidr: '10.20.0.0/16', azCount: 3 }));
    assert.deepEqual(JSON.parse(JSON.stringify(json)), {
      vpcCidr: '10.20.0.0/16',
      azCount: 3,
      subnets: [
        ['worker', 'a', '10.20.0.0/18', 16384],
        ['worker', 'b', '10.20.64.0/18', 16384],
        ['worker', 'c', '10.20.128.0/18', 16384],
        ['control-plane', 'a', '10.20.192.0/21', 2048],
        ['control-plane', 'b', '10.20.200.0/21', 2048],
        ['control-plane', 'c', '10.20.208.0/21', 2048],
        ['public', 'a', '10.20.216.0/21', 2048],
        ['public', 'b', '10.20.224.0/21', 2048],
        ['public', 'c', '10.20.232.0/21', 2048],
      ].map(([role, az, cidr, addresses]) => ({
        name: `${role}-${az}`,
        az,
        role,
        cidr,
        addresses,
        usableAddresses: (addresses as number) - 5,
      })),
      spareCidrs: ['10.20.240.0/20'],
      podCidr: '10.244.0.0/16',
      podCidrSource: 'default',
      podsInVpc: false,
      serviceCidr: '10.96.0.0/12',
      serviceCidrSource: 'default',
      apiServerServiceIp: '10.96.0.1',
      clusterDnsIp: '10.96.0.10',
      notes: [],
    });
  });
});

describe('check rendering', () => {
  const report = checkNetwork({
    vpcCidr: '10.20.0.0/16',
    subnets: ['10.20.0.0/18'],
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
  });

  it('prints one OK line per range', () => {
    assert.equal(
      renderCheckText(report),
      [
        'RESULT  INPUT           CIDR           FINDING',
        'OK      --vpc-cidr      10.20.0.0/16   a valid VPC range of 65536 addresses',
        'OK      --subnet        10.20.0.0/18   inside the VPC, overlaps no other subnet, 16379 usable addresses',
        'OK      --pod-cidr      10.244.0.0/16  outside the VPC, room for 256 nodes at a /24 each',
        'OK      --service-cidr  10.96.0.0/12   outside the VPC and the pod range; API server 10.96.0.1, cluster DNS 10.96.0.10',
      ].join('\n'),
    );
  });

  it('gives JSON with every check and the service IPs', () => {
    const json = checkToJson(report);
    assert.equal(json.ok, true);
    assert.deepEqual(
      (json.checks as { input: string; cidr: string; ok: boolean }[]).map((check) => [
        check.input,
        check.cidr,
        check.ok,
      ]),
      [
        ['--vpc-cidr', '10.20.0.0/16', true],
        ['--subnet', '10.20.0.0/18', true],
        ['--pod-cidr', '10.244.0.0/16', true],
        ['--service-cidr', '10.96.0.0/12', true],
      ],
    );
    assert.equal(json.apiServerServiceIp, '10.96.0.1');
    assert.equal(json.clusterDnsIp, '10.96.0.10');
  });
});
