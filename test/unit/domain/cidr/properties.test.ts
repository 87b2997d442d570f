/**
 * Property tests: for random valid VPCs and zone counts, the plan's promises hold. The oracle
 * below reads the plan's *text* output with its own arithmetic, so a bug in the implementation's
 * overlap or containment cannot hide itself.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../../../../src/core/errors.js';
import { checkNetwork } from '../../../../src/domain/cidr/check.js';
import { parseCidr } from '../../../../src/domain/cidr/parse.js';
import { planNetwork } from '../../../../src/domain/cidr/plan.js';
import { planToJson } from '../../../../src/domain/cidr/render.js';

// --- an independent oracle over "a.b.c.d/p" strings ---------------------------------------------

interface Bounds {
  first: number;
  last: number;
  prefix: number;
}

function toNumber(address: string): number {
  const octets = address.split('.').map(Number);
  assert.equal(octets.length, 4, `${address} has four octets`);
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

function toDotted(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function bounds(cidr: string): Bounds {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const first = toNumber(address);
  assert.equal(first % size, 0, `${cidr} is aligned to its size`);
  return { first, last: first + size - 1, prefix };
}

const size = (b: Bounds): number => b.last - b.first + 1;
const disjoint = (a: Bounds, b: Bounds): boolean => a.last < b.first || b.last < a.first;
const inside = (inner: Bounds, outer: Bounds): boolean =>
  inner.first >= outer.first && inner.last <= outer.last;

function isSpecialUse(b: Bounds): boolean {
  const specials = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3'].map(bounds);
  return specials.some((special) => !disjoint(b, special));
}

// --- generators --------------------------------------------------------------------------------

const uint32 = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
  )
  .map((octets) => octets.reduce((value, octet) => value * 256 + octet, 0));

function networkText(address: number, prefix: number): string {
  const blockSize = 2 ** (32 - prefix);
  return `${toDotted(Math.floor(address / blockSize) * blockSize)}/${prefix}`;
}

/** A CIDR of the given prefix range at a random place outside special-use space. */
function cidrArb(minPrefix: number, maxPrefix: number): fc.Arbitrary<string> {
  return fc
    .tuple(uint32, fc.integer({ min: minPrefix, max: maxPrefix }))
    .map(([address, prefix]) => networkText(address, prefix))
    .filter((cidr) => !isSpecialUse(bounds(cidr)));
}

/** Zone counts 1..6 with a VPC big enough for them (/16 up to the smallest that fits). */
const SMALLEST_VPC_PREFIX: Record<number, number> = { 1: 26, 2: 24, 3: 23, 4: 22, 5: 21, 6: 21 };
const vpcAndZones = fc
  .integer({ min: 1, max: 6 })
  .chain((azCount) =>
    fc.record({ azCount: fc.constant(azCount), vpcCidr: cidrArb(16, SMALLEST_VPC_PREFIX[azCount] ?? 16) }),
  );

const RUNS = { numRuns: 300 };

// --- properties ----------------------------------------------------------------------------------

describe('cidr plan properties', () => {
  it('carves 3 subnets per zone, each aligned, inside the VPC, within AWS limits, none overlapping', () => {
    fc.assert(
      fc.property(vpcAndZones, ({ vpcCidr, azCount }) => {
        const json = planToJson(planNetwork({ vpcCidr, azCount })) as {
          subnets: { cidr: string; role: string; az: string }[];
        };
        const vpc = bounds(vpcCidr);
        const subnets = json.subnets.map((subnet) => ({ ...subnet, bounds: bounds(subnet.cidr) }));
        assert.equal(subnets.length, 3 * azCount);
        for (const [i, a] of subnets.entries()) {
          assert.ok(inside(a.bounds, vpc), `${a.cidr} inside ${vpcCidr}`);
          assert.ok(a.bounds.prefix >= 16 && a.bounds.prefix <= 28, `${a.cidr} is /16 to /28`);
          for (const b of subnets.slice(i + 1))
            assert.ok(disjoint(a.bounds, b.bounds), `${a.cidr} and ${b.cidr} are disjoint`);
        }
        const letters = 'abcdef'.slice(0, azCount).split('');
        for (const role of ['worker', 'control-plane', 'public']) {
          assert.deepEqual(
            subnets.filter((s) => s.role === role).map((s) => s.az),
            letters,
          );
        }
        const workerPrefix = subnets.find((s) => s.role === 'worker')?.bounds.prefix ?? 0;
        for (const s of subnets)
          if (s.role !== 'worker') assert.ok(s.bounds.prefix > workerPrefix, 'workers are largest');
      }),
      RUNS,
    );
  });

  it('subnets and spare blocks tile the VPC exactly', () => {
    fc.assert(
      fc.property(vpcAndZones, ({ vpcCidr, azCount }) => {
        const json = planToJson(planNetwork({ vpcCidr, azCount })) as {
          subnets: { cidr: string }[];
          spareCidrs: string[];
        };
        const blocks = [...json.subnets.map((s) => s.cidr), ...json.spareCidrs].map(bounds);
        const vpc = bounds(vpcCidr);
        for (const [i, a] of blocks.entries()) {
          assert.ok(inside(a, vpc));
          for (const b of blocks.slice(i + 1)) assert.ok(disjoint(a, b));
        }
        assert.equal(
          blocks.reduce((total, block) => total + size(block), 0),
          size(vpc),
        );
      }),
      RUNS,
    );
  });

  it('chooses pod and service ranges that overlap neither the VPC nor each other, within their limits', () => {
    fc.assert(
      fc.property(vpcAndZones, ({ vpcCidr, azCount }) => {
        const plan = planNetwork({ vpcCidr, azCount });
        const [vpc, pod, service] = [vpcCidr, plan.pod.cidr.toString(), plan.service.cidr.toString()].map(
          bounds,
        ) as [Bounds, Bounds, Bounds];
        assert.ok(disjoint(pod, vpc), `pod ${pod} outside VPC ${vpcCidr}`);
        assert.ok(disjoint(service, vpc), `service outside VPC ${vpcCidr}`);
        assert.ok(disjoint(pod, service), 'pod and service disjoint');
        assert.ok(pod.prefix <= 20, 'pod range holds at least 16 node /24s');
        assert.ok(service.prefix >= 12 && service.prefix <= 24, 'service range is /12 to /24');
        assert.equal(plan.podsInVpc, false);
      }),
      RUNS,
    );
  });

  it('with --pods-in-vpc, pods take the VPC range and the service range stays outside it', () => {
    fc.assert(
      fc.property(vpcAndZones, ({ vpcCidr, azCount }) => {
        const plan = planNetwork({ vpcCidr, azCount, podsInVpc: true });
        assert.equal(plan.pod.cidr.toString(), vpcCidr);
        assert.equal(plan.podsInVpc, true);
        assert.ok(disjoint(bounds(plan.service.cidr.toString()), bounds(vpcCidr)));
        assert.ok(
          plan.notes.some((note) => note.includes('--pods-in-vpc')),
          'the plan flags it',
        );
      }),
      RUNS,
    );
  });

  it('puts the API server IP at network + 1 and the cluster DNS IP at network + 10, inside the service range', () => {
    fc.assert(
      fc.property(vpcAndZones, fc.boolean(), ({ vpcCidr, azCount }, podsInVpc) => {
        const plan = planNetwork({ vpcCidr, azCount, podsInVpc });
        const service = bounds(plan.service.cidr.toString());
        const dns = toNumber(plan.clusterDnsIp);
        const api = toNumber(plan.apiServerServiceIp);
        assert.equal(dns, service.first + 10);
        assert.equal(api, service.first + 1);
        assert.ok(dns <= service.last && api <= service.last);
      }),
      RUNS,
    );
  });

  it('keeps a given service range and picks a pod range clear of it and the VPC', () => {
    const input = vpcAndZones
      .chain((vz) => fc.record({ vz: fc.constant(vz), serviceCidr: cidrArb(12, 24) }))
      .filter(({ vz, serviceCidr }) => disjoint(bounds(vz.vpcCidr), bounds(serviceCidr)));
    fc.assert(
      fc.property(input, ({ vz, serviceCidr }) => {
        const plan = planNetwork({ ...vz, serviceCidr });
        assert.equal(plan.service.cidr.toString(), serviceCidr);
        const pod = bounds(plan.pod.cidr.toString());
        assert.ok(disjoint(pod, bounds(vz.vpcCidr)) && disjoint(pod, bounds(serviceCidr)));
      }),
      RUNS,
    );
  });

  it('passes its own check', () => {
    fc.assert(
      fc.property(vpcAndZones, fc.boolean(), ({ vpcCidr, azCount }, podsInVpc) => {
        const plan = planNetwork({ vpcCidr, azCount, podsInVpc });
        const report = checkNetwork({
          vpcCidr,
          subnets: plan.subnets.map((subnet) => subnet.cidr.toString()),
          podCidr: plan.pod.cidr.toString(),
          serviceCidr: plan.service.cidr.toString(),
          podsInVpc,
        });
        assert.equal(report.findings.length, 1 + plan.subnets.length + 2);
      }),
      RUNS,
    );
  });

  it('refuses a VPC too small for the zones, naming a prefix that works', () => {
    // The expectation is the table of smallest VPCs per zone count above, not the planner.
    const input = fc.record({ azCount: fc.integer({ min: 1, max: 6 }), vpcCidr: cidrArb(16, 28) });
    fc.assert(
      fc.property(input, ({ vpcCidr, azCount }) => {
        const smallest = SMALLEST_VPC_PREFIX[azCount] ?? 0;
        if (bounds(vpcCidr).prefix <= smallest) {
          assert.equal(planNetwork({ vpcCidr, azCount }).subnets.length, 3 * azCount);
          return;
        }
        assert.throws(
          () => planNetwork({ vpcCidr, azCount }),
          (error: unknown) =>
            error instanceof UsageError &&
            /too small for \d availability zones?/.test(error.message) &&
            (error.hint ?? '').includes(`use a /${smallest} or larger VPC`),
        );
      }),
      RUNS,
    );
  });
});

describe('parseCidr properties', () => {
  it('reads back every network it prints', () => {
    fc.assert(
      fc.property(uint32, fc.integer({ min: 0, max: 32 }), (address, prefix) => {
        const text = networkText(address, prefix);
        assert.equal(parseCidr(text, '--vpc-cidr').toString(), text);
      }),
      RUNS,
    );
  });

  it('names the network a host address probably meant', () => {
    fc.assert(
      fc.property(uint32, fc.integer({ min: 0, max: 31 }), (address, prefix) => {
        const network = networkText(address, prefix);
        fc.pre(bounds(network).first !== address);
        const text = `${toDotted(address)}/${prefix}`;
        assert.throws(
          () => parseCidr(text, '--vpc-cidr'),
          (error: unknown) =>
            error instanceof UsageError && error.message.includes(`did you mean ${network}?`),
        );
      }),
      RUNS,
    );
  });
});
