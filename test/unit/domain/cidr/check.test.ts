import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CheckRequest, checkNetwork } from '../../../../src/domain/cidr/check.js';
import { assertUsageError } from './expect-usage.js';

const lines = (request: CheckRequest) =>
  checkNetwork(request).findings.map((finding) => `${finding.input} ${finding.cidr} | ${finding.finding}`);

describe('checkNetwork', () => {
  it('accepts a VPC alone', () => {
    assert.deepEqual(lines({ vpcCidr: '10.20.0.0/16' }), [
      '--vpc-cidr 10.20.0.0/16 | a valid VPC range of 65536 addresses',
    ]);
  });

  it('accepts a full, consistent set and reports the service IPs', () => {
    const request: CheckRequest = {
      vpcCidr: '10.20.0.0/16',
      subnets: ['10.20.0.0/18', '10.20.192.0/21', '10.20.255.240/28'],
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
    };
    assert.deepEqual(lines(request), [
      '--vpc-cidr 10.20.0.0/16 | a valid VPC range of 65536 addresses',
      '--subnet 10.20.0.0/18 | inside the VPC, overlaps no other subnet, 16379 usable addresses',
      '--subnet 10.20.192.0/21 | inside the VPC, overlaps no other subnet, 2043 usable addresses',
      '--subnet 10.20.255.240/28 | inside the VPC, overlaps no other subnet, 11 usable addresses',
      '--pod-cidr 10.244.0.0/16 | outside the VPC, room for 256 nodes at a /24 each',
      '--service-cidr 10.96.0.0/12 | outside the VPC and the pod range; API server 10.96.0.1, cluster DNS 10.96.0.10',
    ]);
    assert.deepEqual(checkNetwork(request).serviceIps, {
      apiServerServiceIp: '10.96.0.1',
      clusterDnsIp: '10.96.0.10',
    });
  });

  it('accepts pods inside the VPC with --pods-in-vpc and says so', () => {
    assert.deepEqual(lines({ vpcCidr: '10.20.0.0/16', podCidr: '10.20.0.0/16', podsInVpc: true }), [
      '--vpc-cidr 10.20.0.0/16 | a valid VPC range of 65536 addresses',
      '--pod-cidr 10.20.0.0/16 | inside the VPC on purpose (--pods-in-vpc: pods take VPC addresses)',
    ]);
  });

  it('checks a service range without a pod range', () => {
    assert.equal(
      lines({ vpcCidr: '10.20.0.0/16', serviceCidr: '172.20.0.0/16' }).at(-1),
      '--service-cidr 172.20.0.0/16 | outside the VPC; API server 172.20.0.1, cluster DNS 172.20.0.10',
    );
  });

  const errors: { why: string; request: CheckRequest; patterns: RegExp[] }[] = [
    {
      why: 'a VPC that is not a CIDR',
      request: { vpcCidr: 'vpc' },
      patterns: [/^--vpc-cidr "vpc" is not an IPv4 CIDR/],
    },
    {
      why: 'a VPC host address',
      request: { vpcCidr: '10.20.1.2/16' },
      patterns: [/did you mean 10\.20\.0\.0\/16\?/],
    },
    {
      why: 'a VPC too large for AWS',
      request: { vpcCidr: '10.0.0.0/12' },
      patterns: [/too large: AWS allows \/16 to \/28/],
    },
    {
      why: 'a subnet that is not a CIDR',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.0.0.0/24', 'x'] },
      patterns: [/^--subnet "x" is not an IPv4 CIDR/],
    },
    {
      why: 'a subnet host address',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.0.1.1/24'] },
      patterns: [/^--subnet 10\.0\.1\.1\/24 is a host address.*did you mean 10\.0\.1\.0\/24\?/],
    },
    {
      why: 'an IPv6 subnet',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['fd00::/64'] },
      patterns: [/^--subnet fd00::\/64 is an IPv6 range; kboot supports IPv4 only$/],
    },
    {
      why: 'a subnet outside the VPC',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.1.0.0/24'] },
      patterns: [/^--subnet 10\.1\.0\.0\/24 is not inside --vpc-cidr 10\.0\.0\.0\/16$/],
    },
    {
      why: 'a subnet larger than the VPC',
      request: { vpcCidr: '10.0.0.0/17', subnets: ['10.0.0.0/16'] },
      patterns: [/^--subnet 10\.0\.0\.0\/16 is not inside --vpc-cidr 10\.0\.0\.0\/17$/],
    },
    {
      why: 'a subnet smaller than AWS allows',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.0.0.0/29'] },
      patterns: [/^--subnet 10\.0\.0\.0\/29 is too small: AWS's smallest subnet is a \/28$/],
    },
    {
      why: 'overlapping subnets',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.0.0.0/24', '10.0.4.0/22', '10.0.6.0/24'] },
      patterns: [/^--subnet 10\.0\.4\.0\/22 overlaps --subnet 10\.0\.6\.0\/24$/],
    },
    {
      why: 'a subnet given twice',
      request: { vpcCidr: '10.0.0.0/16', subnets: ['10.0.0.0/24', '10.0.0.0/24'] },
      patterns: [/^--subnet 10\.0\.0\.0\/24 is given twice$/],
    },
    {
      why: 'a pod range overlapping the VPC',
      request: { vpcCidr: '10.0.0.0/16', podCidr: '10.0.0.0/16' },
      patterns: [/^--pod-cidr 10\.0\.0\.0\/16 overlaps --vpc-cidr 10\.0\.0\.0\/16$/],
    },
    {
      why: 'a pod range too small',
      request: { vpcCidr: '10.0.0.0/16', podCidr: '10.244.0.0/24' },
      patterns: [/so it holds 1 node$/],
    },
    {
      why: 'a pod range leaving the VPC with --pods-in-vpc',
      request: { vpcCidr: '10.0.0.0/16', podCidr: '10.0.0.0/15', podsInVpc: true },
      patterns: [/is not inside --vpc-cidr 10\.0\.0\.0\/16, but --pods-in-vpc/],
    },
    {
      why: 'a service range too large',
      request: { vpcCidr: '10.0.0.0/16', serviceCidr: '172.0.0.0/8' },
      patterns: [/^--service-cidr 172\.0\.0\.0\/8 is too large: kube-apiserver refuses/],
    },
    {
      why: 'a service range too small',
      request: { vpcCidr: '10.0.0.0/16', serviceCidr: '172.20.0.0/28' },
      patterns: [/^--service-cidr 172\.20\.0\.0\/28 is too small/],
    },
    {
      why: 'a service range overlapping the VPC',
      request: { vpcCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' },
      patterns: [/^--service-cidr 10\.96\.0\.0\/12 overlaps --vpc-cidr 10\.96\.0\.0\/16$/],
    },
    {
      why: 'a service range overlapping the pod range',
      request: { vpcCidr: '10.0.0.0/16', podCidr: '10.96.0.0/12', serviceCidr: '10.100.0.0/16' },
      patterns: [/^--service-cidr 10\.100\.0\.0\/16 overlaps --pod-cidr 10\.96\.0\.0\/12$/],
    },
    {
      why: 'a service range overlapping pods that share the VPC',
      request: {
        vpcCidr: '10.0.0.0/16',
        podCidr: '10.0.0.0/16',
        podsInVpc: true,
        serviceCidr: '10.0.0.0/24',
      },
      patterns: [/^--service-cidr 10\.0\.0\.0\/24 overlaps --vpc-cidr 10\.0\.0\.0\/16$/],
    },
  ];
  for (const { why, request, patterns } of errors) {
    it(`refuses ${why}`, () => {
      assertUsageError(() => checkNetwork(request), ...patterns);
    });
  }
});
