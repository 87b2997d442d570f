import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError } from '../../../../src/core/errors.js';
import { Ipv4Cidr } from '../../../../src/domain/cidr/ipv4-cidr.js';
import { parseCidr } from '../../../../src/domain/cidr/parse.js';

const cidr = (text: string): Ipv4Cidr => parseCidr(text, 'test');

describe('Ipv4Cidr', () => {
  it('builds an aligned block from a network number and a prefix', () => {
    const block = Ipv4Cidr.of(0x0a140000n, 18);
    assert.equal(block.toString(), '10.20.0.0/18');
    assert.equal(block.network, 0x0a140000n);
    assert.equal(block.last, 0x0a143fffn);
    assert.equal(block.size, 16384n);
    assert.equal(block.prefix, 18);
    assert.equal(JSON.stringify({ block }), '{"block":"10.20.0.0/18"}');
  });

  for (const [network, prefix] of [
    [0x0a000001n, 16],
    [0x0a000000n, 33],
    [-1n, 8],
    [2n ** 32n, 8],
    [0n, 1.5],
  ] as const) {
    it(`refuses ${network}/${prefix} as a programming error`, () => {
      assert.throws(() => Ipv4Cidr.of(network, prefix), InternalError);
    });
  }

  it('gives addresses by offset from the network address', () => {
    const service = cidr('10.96.0.0/12');
    assert.equal(service.addressAt(0n), '10.96.0.0');
    assert.equal(service.addressAt(1n), '10.96.0.1');
    assert.equal(service.addressAt(10n), '10.96.0.10');
    assert.equal(service.addressAt(service.size - 1n), '10.111.255.255');
    assert.throws(() => service.addressAt(service.size), InternalError);
    assert.throws(() => service.addressAt(-1n), InternalError);
  });

  const relations: { a: string; b: string; overlaps: boolean; aContainsB: boolean }[] = [
    { a: '10.0.0.0/16', b: '10.0.0.0/16', overlaps: true, aContainsB: true },
    { a: '10.0.0.0/16', b: '10.0.128.0/17', overlaps: true, aContainsB: true },
    { a: '10.0.128.0/17', b: '10.0.0.0/16', overlaps: true, aContainsB: false },
    { a: '10.0.0.0/17', b: '10.0.128.0/17', overlaps: false, aContainsB: false },
    { a: '10.0.0.0/16', b: '10.1.0.0/16', overlaps: false, aContainsB: false },
    { a: '10.96.0.0/12', b: '10.100.0.0/16', overlaps: true, aContainsB: true },
    { a: '10.96.0.0/12', b: '10.112.0.0/16', overlaps: false, aContainsB: false },
    { a: '0.0.0.0/0', b: '255.255.255.255/32', overlaps: true, aContainsB: true },
  ];
  for (const { a, b, overlaps, aContainsB } of relations) {
    it(`${a} ${overlaps ? 'overlaps' : 'does not overlap'} ${b}`, () => {
      assert.equal(cidr(a).overlaps(cidr(b)), overlaps);
      assert.equal(cidr(b).overlaps(cidr(a)), overlaps);
      assert.equal(cidr(a).contains(cidr(b)), aContainsB);
    });
  }

  it('splits into two halves', () => {
    assert.deepEqual(cidr('10.0.0.0/16').halves().map(String), ['10.0.0.0/17', '10.0.128.0/17']);
    assert.throws(() => cidr('10.0.0.1/32').halves(), InternalError);
  });
});
