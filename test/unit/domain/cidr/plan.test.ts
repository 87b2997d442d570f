import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstFreeCandidate } from '../../../../src/domain/cidr/defaults.js';
import { parseCidr } from '../../../../src/domain/cidr/parse.js';
import { type PlanRequest, planNetwork } from '../../../../src/domain/cidr/plan.js';
import { assertUsageError } from './expect-usage.js';

function summary(request: PlanRequest) {
  const plan = planNetwork(request);
  return {
    pod: `${plan.pod.cidr} ${plan.pod.source}`,
    service: `${plan.service.cidr} ${plan.service.source}`,
    apiServerServiceIp: plan.apiServerServiceIp,
    clusterDnsIp: plan.clusterDnsIp,
    podsInVpc: plan.podsInVpc,
  };
}

describe('planNetwork', () => {
  it('plans 10.20.0.0/16 over three zones with the default pod and service ranges', () => {
    const plan = planNetwork({ vpcCidr: '10.20.0.0/16', azCount: '3' });
    assert.equal(plan.vpc.toString(), '10.20.0.0/16');
    assert.equal(plan.azCount, 3);
    assert.equal(plan.subnets.length, 9);
    assert.deepEqual(plan.spare.map(String), ['10.20.240.0/20']);
    assert.deepEqual(summary({ vpcCidr: '10.20.0.0/16', azCount: 3 }), {
      pod: '10.244.0.0/16 default',
      service: '10.96.0.0/12 default',
      apiServerServiceIp: '10.96.0.1',
      clusterDnsIp: '10.96.0.10',
      podsInVpc: false,
    });
    assert.deepEqual(plan.notes, []);
  });

  const defaults: { request: PlanRequest; pod: string; service: string; why: string }[] = [
    {
      why: 'the VPC takes the first pod candidate',
      request: { vpcCidr: '10.244.0.0/16', azCount: 3 },
      pod: '172.16.0.0/16',
      service: '10.96.0.0/12',
    },
    {
      why: 'the VPC lies inside the first service candidate',
      request: { vpcCidr: '10.100.0.0/16', azCount: 3 },
      pod: '10.244.0.0/16',
      service: '172.20.0.0/16',
    },
    {
      why: 'a small VPC inside the first pod candidate',
      request: { vpcCidr: '10.244.8.0/22', azCount: 2 },
      pod: '172.16.0.0/16',
      service: '10.96.0.0/12',
    },
    {
      why: 'the given service range takes the first pod candidate',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, serviceCidr: '10.244.0.0/16' },
      pod: '172.16.0.0/16',
      service: '10.244.0.0/16',
    },
    {
      why: 'the VPC and the given pod range take two service candidates',
      request: { vpcCidr: '172.20.0.0/16', azCount: 3, podCidr: '10.96.0.0/16' },
      pod: '10.96.0.0/16',
      service: '192.168.0.0/16',
    },
    {
      why: 'the VPC takes only the second pod candidate',
      request: { vpcCidr: '172.16.0.0/16', azCount: 3 },
      pod: '10.244.0.0/16',
      service: '10.96.0.0/12',
    },
  ];
  for (const { why, request, pod, service } of defaults) {
    it(`chooses ${pod} and ${service} when ${why}`, () => {
      const plan = planNetwork(request);
      assert.equal(plan.pod.cidr.toString(), pod);
      assert.equal(plan.service.cidr.toString(), service);
      assert.equal(plan.pod.source, request.podCidr === undefined ? 'default' : 'given');
      assert.equal(plan.service.source, request.serviceCidr === undefined ? 'default' : 'given');
    });
  }

  it('keeps given ranges and derives the service IPs from the given service range', () => {
    assert.deepEqual(
      summary({ vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.128.0.0/14', serviceCidr: '172.30.0.0/24' }),
      {
        pod: '10.128.0.0/14 given',
        service: '172.30.0.0/24 given',
        apiServerServiceIp: '172.30.0.1',
        clusterDnsIp: '172.30.0.10',
        podsInVpc: false,
      },
    );
  });

  it('with --pods-in-vpc, uses the VPC as the pod range and says so', () => {
    const plan = planNetwork({ vpcCidr: '10.20.0.0/16', azCount: 3, podsInVpc: true });
    assert.equal(plan.pod.cidr.toString(), '10.20.0.0/16');
    assert.equal(plan.pod.source, 'vpc');
    assert.equal(plan.podsInVpc, true);
    assert.equal(plan.service.cidr.toString(), '10.96.0.0/12');
    assert.equal(plan.notes.length, 1);
    assert.match(
      plan.notes[0] ?? '',
      /pods share the VPC range \(--pods-in-vpc\).*overlaps the VPC on purpose/,
    );
  });

  it('with --pods-in-vpc, accepts a pod range inside the VPC, however small', () => {
    const plan = planNetwork({
      vpcCidr: '10.20.0.0/16',
      azCount: 3,
      podsInVpc: true,
      podCidr: '10.20.0.0/18',
    });
    assert.equal(plan.pod.cidr.toString(), '10.20.0.0/18');
    assert.equal(plan.pod.source, 'given');
    assert.match(plan.notes[0] ?? '', /--pods-in-vpc/);
  });

  it('notes that fewer than three zones cannot keep etcd quorum through a zone outage', () => {
    assert.match(
      planNetwork({ vpcCidr: '10.0.0.0/16', azCount: 1 }).notes.join('\n'),
      /only 1 availability zone: .*quorum/,
    );
    assert.match(
      planNetwork({ vpcCidr: '10.0.0.0/16', azCount: 2 }).notes.join('\n'),
      /only 2 availability zones/,
    );
    assert.deepEqual(planNetwork({ vpcCidr: '10.0.0.0/16', azCount: 4 }).notes, []);
  });

  const errors: { why: string; request: PlanRequest; patterns: RegExp[] }[] = [
    {
      why: 'a VPC that is not a CIDR',
      request: { vpcCidr: '10.0.0/16', azCount: 3 },
      patterns: [/^--vpc-cidr "10\.0\.0\/16" is not an IPv4 CIDR/],
    },
    {
      why: 'a host address as the VPC',
      request: { vpcCidr: '10.0.0.1/16', azCount: 3 },
      patterns: [/did you mean 10\.0\.0\.0\/16\?/],
    },
    {
      why: 'an IPv6 VPC',
      request: { vpcCidr: 'fd00::/48', azCount: 3 },
      patterns: [/^--vpc-cidr fd00::\/48 is an IPv6 range; kboot supports IPv4 only$/],
    },
    {
      why: 'a VPC larger than AWS allows',
      request: { vpcCidr: '10.0.0.0/15', azCount: 3 },
      patterns: [/^--vpc-cidr 10\.0\.0\.0\/15 is too large: AWS allows \/16 to \/28 for a VPC$/],
    },
    {
      why: 'a VPC smaller than AWS allows',
      request: { vpcCidr: '10.0.0.0/29', azCount: 1 },
      patterns: [/^--vpc-cidr 10\.0\.0\.0\/29 is too small: AWS allows/],
    },
    {
      why: 'a VPC too small for the zones',
      request: { vpcCidr: '10.0.0.0/22', azCount: 6 },
      patterns: [/too small for 6 availability zones/],
    },
    {
      why: 'a VPC in link-local space',
      request: { vpcCidr: '169.254.0.0/16', azCount: 3 },
      patterns: [/^--vpc-cidr 169\.254\.0\.0\/16 overlaps 169\.254\.0\.0\/16 \(link-local/],
    },
    {
      why: 'a VPC in loopback space',
      request: { vpcCidr: '127.0.0.0/16', azCount: 3 },
      patterns: [/overlaps 127\.0\.0\.0\/8 \(loopback\)/],
    },
    {
      why: 'a VPC in multicast space',
      request: { vpcCidr: '224.0.0.0/16', azCount: 3 },
      patterns: [/overlaps 224\.0\.0\.0\/4 \(multicast\)/],
    },
    {
      why: 'too many zones',
      request: { vpcCidr: '10.0.0.0/16', azCount: '9' },
      patterns: [/^--azs 9 is out of range: kboot plans 1 to 6 availability zones$/],
    },
    {
      why: 'no zones',
      request: { vpcCidr: '10.0.0.0/16', azCount: '0' },
      patterns: [/^--azs 0 is out of range/],
    },
    {
      why: 'a zone count that is not a number',
      request: { vpcCidr: '10.0.0.0/16', azCount: 'three' },
      patterns: [/^--azs "three" is not a whole number$/],
    },
    {
      why: 'a pod range that is not a CIDR',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: 'pods' },
      patterns: [/^--pod-cidr "pods" is not an IPv4 CIDR/],
    },
    {
      why: 'a pod host address',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.244.1.0/16' },
      patterns: [/^--pod-cidr 10\.244\.1\.0\/16 is a host address.*did you mean 10\.244\.0\.0\/16\?/],
    },
    {
      why: 'an IPv6 pod range',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: 'fd00:10::/56' },
      patterns: [/^--pod-cidr fd00:10::\/56 is an IPv6 range/],
    },
    {
      why: 'a pod range overlapping the VPC',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.0.0.0/8' },
      patterns: [/^--pod-cidr 10\.0\.0\.0\/8 overlaps --vpc-cidr 10\.0\.0\.0\/16$/],
    },
    {
      why: 'a pod range too small for nodes',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.244.0.0/21' },
      patterns: [
        /^--pod-cidr 10\.244\.0\.0\/21 is too small: every node takes a \/24 from it, so it holds 8 nodes$/,
      ],
    },
    {
      why: 'a pod range smaller than one node range',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.244.0.0/26' },
      patterns: [/so it holds 0 nodes/],
    },
    {
      why: 'a pod range in link-local space',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '169.254.0.0/16' },
      patterns: [/^--pod-cidr 169\.254\.0\.0\/16 overlaps 169\.254\.0\.0\/16/],
    },
    {
      why: 'a pod range outside the VPC with --pods-in-vpc',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.244.0.0/16', podsInVpc: true },
      patterns: [
        /^--pod-cidr 10\.244\.0\.0\/16 is not inside --vpc-cidr 10\.0\.0\.0\/16, but --pods-in-vpc says pods take VPC addresses$/,
      ],
    },
    {
      why: 'a service range larger than kube-apiserver accepts',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, serviceCidr: '10.96.0.0/11' },
      patterns: [
        /^--service-cidr 10\.96\.0\.0\/11 is too large: kube-apiserver refuses IPv4 service ranges larger than a \/12$/,
      ],
    },
    {
      why: 'a service range smaller than a /24',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, serviceCidr: '10.96.0.0/25' },
      patterns: [/^--service-cidr 10\.96\.0\.0\/25 is too small: kboot accepts \/12 to \/24/],
    },
    {
      why: 'a service range overlapping the VPC',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, serviceCidr: '10.0.255.0/24' },
      patterns: [/^--service-cidr 10\.0\.255\.0\/24 overlaps --vpc-cidr 10\.0\.0\.0\/16$/],
    },
    {
      why: 'a service range overlapping the given pod range',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' },
      patterns: [/^--service-cidr 10\.96\.0\.0\/12 overlaps --pod-cidr 10\.96\.0\.0\/16$/],
    },
    {
      why: 'a service range overlapping the VPC that pods share',
      request: { vpcCidr: '10.96.0.0/16', azCount: 3, serviceCidr: '10.96.0.0/12', podsInVpc: true },
      patterns: [/^--service-cidr 10\.96\.0\.0\/12 overlaps --vpc-cidr 10\.96\.0\.0\/16$/],
    },
    {
      why: 'a service range in loopback space',
      request: { vpcCidr: '10.0.0.0/16', azCount: 3, serviceCidr: '127.0.0.0/16' },
      patterns: [/^--service-cidr 127\.0\.0\.0\/16 overlaps 127\.0\.0\.0\/8 \(loopback\)$/],
    },
  ];
  for (const { why, request, patterns } of errors) {
    it(`refuses ${why}`, () => {
      assertUsageError(() => planNetwork(request), ...patterns);
    });
  }

  it('names inputs as the caller calls them', () => {
    const names = {
      vpc: 'vpcCidr',
      azs: 'azCount',
      pod: 'podCidr',
      service: 'serviceCidr',
      subnet: 'subnets[]',
      podsInVpc: 'podsInVpc',
    };
    assertUsageError(
      () => planNetwork({ vpcCidr: '10.0.0.0/16', azCount: 3, podCidr: '10.0.0.0/20' }, names),
      /^podCidr 10\.0\.0\.0\/20 overlaps vpcCidr 10\.0\.0\.0\/16$/,
    );
  });
});

describe('firstFreeCandidate', () => {
  const cidr = (text: string) => parseCidr(text, 'test');
  it('returns the first candidate that overlaps nothing taken', () => {
    const chosen = firstFreeCandidate(
      ['10.0.0.0/16', '10.1.0.0/16'],
      [cidr('10.0.128.0/17')],
      'pod CIDR',
      '--pod-cidr',
    );
    assert.equal(chosen.toString(), '10.1.0.0/16');
  });
  it('says to pass the flag when every candidate is taken', () => {
    assertUsageError(
      () =>
        firstFreeCandidate(
          ['10.0.0.0/16', '10.1.0.0/16'],
          [cidr('10.0.0.0/8')],
          'service CIDR',
          '--service-cidr',
        ),
      /^no default service CIDR is free: 10\.0\.0\.0\/16, 10\.1\.0\.0\/16 each overlap 10\.0\.0\.0\/8$/,
    );
  });
});
