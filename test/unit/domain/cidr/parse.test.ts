import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAzCount, parseCidr } from '../../../../src/domain/cidr/parse.js';
import { assertUsageError } from './expect-usage.js';

describe('parseCidr', () => {
  const valid: { text: string; cidr: string; size: bigint }[] = [
    { text: '10.0.0.0/16', cidr: '10.0.0.0/16', size: 65536n },
    { text: '10.20.0.0/16', cidr: '10.20.0.0/16', size: 65536n },
    { text: '192.168.10.0/24', cidr: '192.168.10.0/24', size: 256n },
    { text: '172.16.0.0/12', cidr: '172.16.0.0/12', size: 1_048_576n },
    { text: '10.0.0.16/28', cidr: '10.0.0.16/28', size: 16n },
    { text: '0.0.0.0/0', cidr: '0.0.0.0/0', size: 4_294_967_296n },
    { text: '255.255.255.255/32', cidr: '255.255.255.255/32', size: 1n },
    { text: '  10.1.0.0/16\n', cidr: '10.1.0.0/16', size: 65536n },
    { text: '10.0.0.0/08', cidr: '10.0.0.0/8', size: 16_777_216n },
  ];
  for (const { text, cidr, size } of valid) {
    it(`reads ${JSON.stringify(text)} as ${cidr}`, () => {
      const parsed = parseCidr(text, '--vpc-cidr');
      assert.equal(parsed.toString(), cidr);
      assert.equal(parsed.size, size);
    });
  }

  const invalid: { text: string; patterns: RegExp[]; hint?: RegExp }[] = [
    { text: '', patterns: [/^--vpc-cidr is empty$/] },
    { text: '   ', patterns: [/^--vpc-cidr is empty$/] },
    { text: 'foo', patterns: [/^--vpc-cidr "foo" is not an IPv4 CIDR/, /address and a prefix length/] },
    {
      text: '10.0.0.0',
      patterns: [/^--vpc-cidr 10\.0\.0\.0 has no prefix length$/],
      hint: /10\.0\.0\.0\/16/,
    },
    {
      text: '10.0.0.0/33',
      patterns: [/"10\.0\.0\.0\/33" is not an IPv4 CIDR/, /prefix length must be a number from 0 to 32/],
    },
    { text: '10.0.0.0/-1', patterns: [/prefix length must be a number from 0 to 32/] },
    { text: '10.0.0.0/', patterns: [/prefix length must be a number from 0 to 32/] },
    { text: '10.0.0.0/1x', patterns: [/prefix length must be a number from 0 to 32/] },
    { text: '10.0.0.0/16/8', patterns: [/more than one "\/"/] },
    {
      text: '256.0.0.0/8',
      patterns: [/"256\.0\.0\.0\/8" is not an IPv4 CIDR/, /four numbers from 0 to 255/],
    },
    { text: '10.0.0/16', patterns: [/four numbers from 0 to 255/] },
    { text: '10.0.0.0.0/16', patterns: [/four numbers from 0 to 255/] },
    { text: 'a.b.c.d/16', patterns: [/four numbers from 0 to 255/] },
    {
      text: '2001:db8::/56',
      patterns: [/^--vpc-cidr 2001:db8::\/56 is an IPv6 range; kboot supports IPv4 only$/],
    },
    { text: '::ffff:10.0.0.0/104', patterns: [/IPv4 only/] },
    {
      text: '10.0.0.1/16',
      patterns: [
        /^--vpc-cidr 10\.0\.0\.1\/16 is a host address, not a network address \(did you mean 10\.0\.0\.0\/16\?\)$/,
      ],
      hint: /^pass --vpc-cidr 10\.0\.0\.0\/16$/,
    },
    { text: '10.20.30.40/20', patterns: [/did you mean 10\.20\.16\.0\/20\?/] },
    { text: '192.168.1.1/24', patterns: [/did you mean 192\.168\.1\.0\/24\?/] },
  ];
  for (const { text, patterns, hint } of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const error = assertUsageError(() => parseCidr(text, '--vpc-cidr'), ...patterns);
      if (hint !== undefined) assert.match(error.hint ?? '', hint);
    });
  }

  it('names the input it was given', () => {
    assertUsageError(() => parseCidr('nope', '--pod-cidr'), /^--pod-cidr "nope"/);
    assertUsageError(
      () => parseCidr('10.0.0.1/8', 'podCidr in config.yaml'),
      /^podCidr in config\.yaml 10\.0\.0\.1\/8/,
    );
  });
});

describe('parseAzCount', () => {
  for (const [value, count] of [
    ['1', 1],
    ['3', 3],
    [' 6 ', 6],
    [2, 2],
  ] as const) {
    it(`reads ${JSON.stringify(value)} as ${count}`, () => assert.equal(parseAzCount(value, '--azs'), count));
  }
  for (const [value, pattern] of [
    ['0', /^--azs 0 is out of range: kboot plans 1 to 6 availability zones$/],
    ['7', /^--azs 7 is out of range/],
    ['x', /^--azs "x" is not a whole number$/],
    ['', /^--azs "" is not a whole number$/],
    ['2.5', /"2\.5" is not a whole number/],
    ['-1', /"-1" is not a whole number/],
    [0, /out of range/],
  ] as const) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      assertUsageError(() => parseAzCount(value, '--azs'), pattern);
    });
  }
});
