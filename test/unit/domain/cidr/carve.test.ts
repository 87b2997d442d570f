import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carveSubnets, smallestVpcPrefixFor, subnetPrefixes } from '../../../../src/domain/cidr/carve.js';
import { CIDR_FLAG_NAMES } from '../../../../src/domain/cidr/names.js';
import { parseCidr } from '../../../../src/domain/cidr/parse.js';
import { assertUsageError } from './expect-usage.js';

const carve = (vpc: string, azCount: number) =>
  carveSubnets(parseCidr(vpc, '--vpc-cidr'), azCount, CIDR_FLAG_NAMES);
const rows = (vpc: string, azCount: number) =>
  carve(vpc, azCount).subnets.map((subnet) => `${subnet.name} ${subnet.az} ${subnet.role} ${subnet.cidr}`);

describe('carveSubnets', () => {
  it('carves a /16 into three zones: /18 workers, /21 control-plane and public, a /20 spare', () => {
    assert.deepEqual(rows('10.20.0.0/16', 3), [
      'worker-a a worker 10.20.0.0/18',
      'worker-b b worker 10.20.64.0/18',
      'worker-c c worker 10.20.128.0/18',
      'control-plane-a a control-plane 10.20.192.0/21',
      'control-plane-b b control-plane 10.20.200.0/21',
      'control-plane-c c control-plane 10.20.208.0/21',
      'public-a a public 10.20.216.0/21',
      'public-b b public 10.20.224.0/21',
      'public-c c public 10.20.232.0/21',
    ]);
    assert.deepEqual(carve('10.20.0.0/16', 3).spare.map(String), ['10.20.240.0/20']);
  });

  it('carves one zone into halves and quarters', () => {
    assert.deepEqual(rows('192.168.0.0/24', 1), [
      'worker-a a worker 192.168.0.0/25',
      'control-plane-a a control-plane 192.168.0.128/26',
      'public-a a public 192.168.0.192/26',
    ]);
    assert.deepEqual(carve('192.168.0.0/24', 1).spare, []);
  });

  it('carves six zones with letters a to f', () => {
    const layout = carve('10.0.0.0/16', 6);
    assert.equal(layout.subnets.length, 18);
    assert.deepEqual([...new Set(layout.subnets.map((subnet) => subnet.az))], ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(
      layout.subnets.filter((subnet) => subnet.az === 'f').map((subnet) => `${subnet.role} ${subnet.cidr}`),
      ['worker 10.0.160.0/19', 'control-plane 10.0.202.0/23', 'public 10.0.214.0/23'],
    );
    assert.deepEqual(layout.spare.map(String), ['10.0.216.0/21', '10.0.224.0/19']);
  });

  const prefixes: { azs: number; worker: number; edge: number; smallestVpc: number }[] = [
    { azs: 1, worker: 17, edge: 18, smallestVpc: 26 },
    { azs: 2, worker: 18, edge: 20, smallestVpc: 24 },
    { azs: 3, worker: 18, edge: 21, smallestVpc: 23 },
    { azs: 4, worker: 19, edge: 22, smallestVpc: 22 },
    { azs: 5, worker: 19, edge: 23, smallestVpc: 21 },
    { azs: 6, worker: 19, edge: 23, smallestVpc: 21 },
  ];
  for (const { azs, worker, edge, smallestVpc } of prefixes) {
    it(`uses /${worker} workers and /${edge} edge subnets in a /16 for ${azs} zones; needs a /${smallestVpc} at least`, () => {
      assert.deepEqual(subnetPrefixes(16, azs), { worker, edge });
      assert.equal(smallestVpcPrefixFor(azs), smallestVpc);
      const smallest = carve(`10.0.0.0/${smallestVpc}`, azs).subnets;
      assert.equal(Math.max(...smallest.map((subnet) => subnet.cidr.prefix)), 28);
      assertUsageError(() => carve(`10.0.0.0/${smallestVpc + 1}`, azs), /too small/);
    });
  }

  it('says which VPC size would work when the VPC is too small', () => {
    const error = assertUsageError(
      () => carve('10.0.0.0/24', 3),
      /^--vpc-cidr 10\.0\.0\.0\/24 is too small for 3 availability zones: /,
      /subnets would be \/29, smaller than AWS's \/28 minimum/,
    );
    assert.match(error.hint ?? '', /use a \/23 or larger VPC/);
    assertUsageError(() => carve('10.0.0.0/27', 1), /too small for 1 availability zone:/);
  });

  it('refuses a zone count out of range', () => {
    assertUsageError(() => carve('10.0.0.0/16', 0), /^--azs 0 is out of range/);
    assertUsageError(() => carve('10.0.0.0/16', 7), /^--azs 7 is out of range/);
  });
});
