import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';
import { planSelfRemoval } from '../../../../src/domain/leave/etcd-self-removal.js';

const SELF = { nodeName: 'ip-10-0-1-10.ec2.internal', privateIp: '10.0.1.10' };

function member(id: string, name: string, ip: string, options: Partial<EtcdMember> = {}): EtcdMember {
  return {
    id,
    name,
    peerUrls: [`https://${ip}:2380`],
    clientUrls: [`https://${ip}:2379`],
    isLearner: false,
    ...options,
  };
}

const me = member('1', SELF.nodeName, SELF.privateIp);
const b = member('2', 'ip-10-0-1-11.ec2.internal', '10.0.1.11');
const c = member('3', 'ip-10-0-1-12.ec2.internal', '10.0.1.12');
const d = member('4', 'ip-10-0-1-13.ec2.internal', '10.0.1.13');
const e = member('5', 'ip-10-0-1-14.ec2.internal', '10.0.1.14');

describe('planSelfRemoval', () => {
  const cases: { name: string; members: EtcdMember[]; dead?: string[]; expect: string; reason?: RegExp }[] = [
    { name: 'three members, all up: remove', members: [me, b, c], expect: 'remove' },
    {
      name: 'three members, one other down: refuse (1 of 2 left answers)',
      members: [me, b, c],
      dead: ['3'],
      expect: 'refuse',
      reason: /only 1 of the 2/,
    },
    {
      name: 'five members, one other down: remove (3 of 4 answer)',
      members: [me, b, c, d, e],
      dead: ['5'],
      expect: 'remove',
    },
    {
      name: 'five members, two others down: refuse',
      members: [me, b, c, d, e],
      dead: ['4', '5'],
      expect: 'refuse',
    },
    { name: 'the last member: refuse', members: [me], expect: 'refuse', reason: /last etcd member/ },
    { name: 'not a member (already removed): absent', members: [b, c], expect: 'absent' },
    {
      name: 'a learner: always removable',
      members: [{ ...me, isLearner: true }, b],
      dead: ['2'],
      expect: 'remove',
    },
    {
      name: 'found by peer URL when named otherwise',
      members: [{ ...me, name: 'renamed' }, b, c],
      expect: 'remove',
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const dead = new Set(testCase.dead ?? []);
      const plan = planSelfRemoval(testCase.members, SELF, (m) => !dead.has(m.id));
      assert.equal(plan.action, testCase.expect);
      if (plan.action === 'remove') assert.equal(plan.member.id, '1');
      if (testCase.reason !== undefined && plan.action === 'refuse')
        assert.match(plan.reason, testCase.reason);
    });
  }

  it('without a probe, counts a member with no client URL (never started) as down', () => {
    const unstarted = { ...c, clientUrls: [] };
    assert.equal(planSelfRemoval([me, b, unstarted], SELF).action, 'refuse');
    assert.equal(planSelfRemoval([me, b, c], SELF).action, 'remove');
  });
});
