import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decideNode,
  instanceIdFromProviderId,
  planEtcd,
  quorumOf,
} from '../../../../src/domain/cleanup/plan.js';
import {
  type Ec2InstanceState,
  INSTANCE_STATES,
  type InstanceFact,
  type InstanceLookup,
} from '../../../../src/domain/cleanup/ports.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';

const STATES: readonly (Ec2InstanceState | 'absent')[] = [...INSTANCE_STATES, 'absent'];

function member(i: number, extra: Partial<EtcdMember> = {}): EtcdMember {
  return {
    id: `1844674407370955${1000 + i}`,
    name: `ip-10-0-1-${i}.ec2.internal`,
    peerUrls: [`https://10.0.1.${i}:2380`],
    clientUrls: [`https://10.0.1.${i}:2379`],
    isLearner: false,
    ...extra,
  };
}

/** Members 0..n-1, instance i-<i> in states[i], alive[i]; mapped through the registry. */
function facts(states: readonly (Ec2InstanceState | 'absent')[], alive: readonly boolean[]) {
  const members = states.map((_, i) => member(i));
  const byId = new Map<string, InstanceFact>();
  states.forEach((state, i) => {
    if (state !== 'absent') {
      byId.set(`i-${i}`, {
        instanceId: `i-${i}`,
        state,
        privateDnsName: undefined,
        privateIp: undefined,
        cluster: 'c',
      });
    }
  });
  const lookup: InstanceLookup = { byId, byDnsName: new Map() };
  return {
    members,
    probes: new Map(members.map((m, i) => [m.id, { alive: alive[i] ?? false }])),
    registry: new Map(members.map((m, i) => [m.name, `i-${i}`])),
    lookup,
  };
}

describe('planEtcd', () => {
  const cases: {
    name: string;
    states: (Ec2InstanceState | 'absent')[];
    alive: boolean[];
    kind: 'ok' | 'quorum-lost';
    next?: number;
    reason?: RegExp;
  }[] = [
    {
      name: 'all running and alive',
      states: ['running', 'running', 'running'],
      alive: [true, true, true],
      kind: 'ok',
    },
    {
      name: 'one terminated and dead',
      states: ['running', 'running', 'terminated'],
      alive: [true, true, false],
      kind: 'ok',
      next: 2,
      reason: /instance i-2 is terminated; the member does not answer/,
    },
    {
      name: 'one vanished from EC2',
      states: ['running', 'absent', 'running'],
      alive: [true, false, true],
      kind: 'ok',
      next: 1,
      reason: /instance i-1 does not exist any more/,
    },
    {
      name: 'etcd dead, instance running',
      states: ['running', 'running', 'running'],
      alive: [true, true, false],
      kind: 'ok',
    },
    {
      name: 'etcd dead, instance stopped',
      states: ['running', 'stopped', 'running'],
      alive: [true, false, true],
      kind: 'ok',
    },
    {
      name: 'shutting down waits',
      states: ['running', 'running', 'shutting-down'],
      alive: [true, true, false],
      kind: 'ok',
    },
    {
      name: 'terminated but still answering',
      states: ['running', 'running', 'terminated'],
      alive: [true, true, true],
      kind: 'ok',
    },
    {
      name: 'two of three lost',
      states: ['running', 'terminated', 'terminated'],
      alive: [true, false, false],
      kind: 'quorum-lost',
    },
    {
      name: 'one terminated, one etcd down on a running instance: quorum lost',
      states: ['running', 'running', 'terminated'],
      alive: [true, false, false],
      kind: 'quorum-lost',
    },
    {
      name: 'five members, two lost: quorum holds',
      states: ['running', 'running', 'running', 'terminated', 'absent'],
      alive: [true, true, true, false, false],
      kind: 'ok',
      next: 3,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planEtcd(facts(c.states, c.alive));
      assert.equal(plan.kind, c.kind);
      if (plan.kind === 'ok') {
        assert.equal(plan.next?.member.name, c.next === undefined ? undefined : member(c.next).name);
        if (c.reason !== undefined) assert.match(plan.next?.reason ?? '', c.reason);
      } else {
        assert.match(plan.explanation, /lost quorum/);
        assert.match(plan.explanation, /snapshot/);
      }
    });
  }

  it('keeps a member whose name a live instance carries, whatever the registry says', () => {
    const f = facts(['terminated'], [false]);
    const live: InstanceFact = {
      instanceId: 'i-new',
      state: 'running',
      privateDnsName: member(0).name,
      privateIp: undefined,
      cluster: 'c',
    };
    const plan = planEtcd({
      ...f,
      lookup: { byId: f.lookup.byId, byDnsName: new Map([[member(0).name, live]]) },
    });
    assert.equal(plan.kind === 'ok' && plan.next, undefined);
    assert.match(plan.decisions[0]?.reason ?? '', /instance i-new is running/);
  });

  it('quorumOf is a strict majority, even member counts included', () => {
    const expected: [members: number, quorum: number][] = [
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
      [5, 3],
      [6, 4],
      [7, 4],
    ];
    assert.deepEqual(
      expected.map(([members]) => [members, quorumOf(members)]),
      expected,
    );
  });

  it('never removes a member whose instance exists, nor below quorum (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...STATES), fc.boolean()), { minLength: 1, maxLength: 7 }),
        (rows) => {
          const plan = planEtcd(
            facts(
              rows.map((r) => r[0]),
              rows.map((r) => r[1]),
            ),
          );
          for (const decision of plan.decisions) {
            if (decision.action !== 'remove') continue;
            assert.ok(['terminated', 'absent'].includes(decision.located.status));
            assert.equal(decision.probe.alive, false);
          }
          const alive = rows.filter((r) => r[1]).length;
          // Quorum is a strict majority of the voting members, stated without quorumOf.
          if (plan.kind === 'ok' && plan.next !== undefined) assert.ok(2 * alive > rows.length);
        },
      ),
    );
  });
});

describe('nodes and provider ids', () => {
  const lookup: InstanceLookup = {
    byId: new Map([
      [
        'i-0abc',
        {
          instanceId: 'i-0abc',
          state: 'terminated',
          privateDnsName: undefined,
          privateIp: undefined,
          cluster: 'c',
        },
      ],
    ]),
    byDnsName: new Map(),
  };
  const cases = [
    {
      name: 'terminated, NotReady',
      providerId: 'aws:///us-east-1a/i-0abc',
      ready: 'Unknown',
      action: 'delete',
    },
    {
      name: 'terminated, still Ready',
      providerId: 'aws:///us-east-1a/i-0abc',
      ready: 'True',
      action: 'keep',
    },
    {
      name: 'unknown provider id: absent',
      providerId: 'aws:///us-east-1a/i-0def',
      ready: 'False',
      action: 'delete',
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const decision = decideNode({ name: 'n', providerId: c.providerId, ready: c.ready }, new Map(), lookup);
      assert.equal(decision.action, c.action);
    });
  }
  it('parses provider ids', () => {
    assert.equal(instanceIdFromProviderId('aws:///us-east-1a/i-0123abcd'), 'i-0123abcd');
    assert.equal(instanceIdFromProviderId('gce://p/z/n'), undefined);
    assert.equal(instanceIdFromProviderId(undefined), undefined);
  });
});
