import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstOverlap, freeBlocks } from '../../../../src/domain/cidr/overlap.js';
import { parseCidr } from '../../../../src/domain/cidr/parse.js';

const cidr = (text: string) => parseCidr(text, 'test');
const named = (name: string, text: string) => ({ name, cidr: cidr(text) });

describe('firstOverlap', () => {
  it('finds nothing among disjoint ranges', () => {
    assert.equal(
      firstOverlap([named('a', '10.0.0.0/24'), named('b', '10.0.1.0/24'), named('c', '10.0.2.0/23')]),
      undefined,
    );
    assert.equal(firstOverlap([]), undefined);
  });
  it('returns the first overlapping pair in input order', () => {
    const pair = firstOverlap([
      named('a', '10.0.0.0/24'),
      named('b', '10.0.2.0/24'),
      named('c', '10.0.0.0/22'),
    ]);
    assert.deepEqual(
      pair?.map((range) => `${range.name} ${range.cidr}`),
      ['a 10.0.0.0/24', 'c 10.0.0.0/22'],
    );
  });
});

describe('freeBlocks', () => {
  const cases: { container: string; used: string[]; free: string[] }[] = [
    { container: '10.0.0.0/16', used: [], free: ['10.0.0.0/16'] },
    { container: '10.0.0.0/16', used: ['10.0.0.0/16'], free: [] },
    { container: '10.0.0.0/16', used: ['10.0.0.0/8'], free: [] },
    { container: '10.0.0.0/16', used: ['10.1.0.0/16'], free: ['10.0.0.0/16'] },
    { container: '10.0.0.0/16', used: ['10.0.0.0/17'], free: ['10.0.128.0/17'] },
    {
      container: '10.0.0.0/16',
      used: ['10.0.0.0/18', '10.0.64.0/18', '10.0.128.0/18'],
      free: ['10.0.192.0/18'],
    },
    {
      container: '10.0.0.0/24',
      used: ['10.0.0.16/28'],
      free: ['10.0.0.0/28', '10.0.0.32/27', '10.0.0.64/26', '10.0.0.128/25'],
    },
  ];
  for (const { container, used, free } of cases) {
    it(`leaves ${free.join(', ') || 'nothing'} of ${container} free around ${used.join(', ') || 'nothing'}`, () => {
      assert.deepEqual(freeBlocks(cidr(container), used.map(cidr)).map(String), free);
    });
  }
});
