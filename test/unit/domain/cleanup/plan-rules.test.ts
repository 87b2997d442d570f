/**
 * The cleanup plan's rules one by one: how a name is mapped to an instance (registry, provider
 * id, DNS name; a live instance under any key wins), the reasons it gives, which member goes
 * first, and that a Node of a live instance is never deleted, whatever its kubelet says.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideNode,
  instanceIdFromProviderId,
  planEtcd,
  planNodes,
  registryByNodeName,
} from '../../../../src/domain/cleanup/plan.js';
import {
  type Ec2InstanceState,
  INSTANCE_STATES,
  type InstanceFact,
  type InstanceLookup,
  type MemberProbe,
} from '../../../../src/domain/cleanup/ports.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';

function fact(instanceId: string, state: Ec2InstanceState, privateDnsName?: string): InstanceFact {
  return { instanceId, state, privateDnsName, privateIp: undefined, cluster: 'c' };
}

function lookupOf(facts: InstanceFact[]): InstanceLookup {
  return {
    byId: new Map(facts.map((f) => [f.instanceId, f])),
    byDnsName: new Map(
      facts.filter((f) => f.privateDnsName !== undefined).map((f) => [f.privateDnsName as string, f]),
    ),
  };
}

function member(name: string, extra: Partial<EtcdMember> = {}): EtcdMember {
  return { id: `id-${name}`, name, peerUrls: [], clientUrls: [], isLearner: false, ...extra };
}

const LIVE_STATES = INSTANCE_STATES.filter((s) => s !== 'terminated');

describe('Node decisions', () => {
  for (const state of LIVE_STATES) {
    it(`keeps a NotReady Node whose instance is ${state}`, () => {
      const decision = decideNode(
        { name: 'n1', providerId: 'aws:///us-east-1a/i-0aa', ready: 'False' },
        new Map(),
        lookupOf([fact('i-0aa', state)]),
      );
      assert.equal(decision.action, 'keep');
      assert.match(decision.reason, /never deleted while its instance exists/);
    });
  }

  it('keeps a Node whose recorded instance is gone while its provider id names a live one', () => {
    const decision = decideNode(
      { name: 'n1', providerId: 'aws:///us-east-1a/i-0bb', ready: 'Unknown' },
      new Map([['n1', 'i-0aa']]),
      lookupOf([fact('i-0aa', 'terminated'), fact('i-0bb', 'running')]),
    );
    assert.equal(decision.action, 'keep');
    assert.deepEqual(decision.located, { instanceId: 'i-0bb', status: 'running', via: 'provider-id' });
  });

  it('deletes a NotReady Node whose instance, recorded and in its provider id, is terminated', () => {
    const decision = decideNode(
      { name: 'n1', providerId: 'aws:///us-east-1a/i-0aa', ready: 'False' },
      new Map([['n1', 'i-0aa']]),
      lookupOf([fact('i-0aa', 'terminated')]),
    );
    assert.equal(decision.action, 'delete');
    assert.equal(decision.reason, 'instance i-0aa is terminated');
    assert.deepEqual(decision.located, { instanceId: 'i-0aa', status: 'terminated', via: 'registry' });
  });

  it('reads the provider id of a Node the registry does not know, and says so when it is gone', () => {
    const decision = decideNode(
      { name: 'n1', providerId: 'aws:///us-east-1a/i-0cc', ready: 'False' },
      new Map(),
      lookupOf([]),
    );
    assert.equal(decision.action, 'delete');
    assert.equal(decision.reason, 'instance i-0cc does not exist any more');
    assert.deepEqual(decision.located, { instanceId: 'i-0cc', status: 'absent', via: 'provider-id' });
  });

  it('a Node found nowhere: no instance has its DNS name', () => {
    const decision = decideNode(
      { name: 'n1', providerId: undefined, ready: 'Unknown' },
      new Map(),
      lookupOf([]),
    );
    assert.equal(decision.action, 'delete');
    assert.equal(decision.reason, 'no EC2 instance has this private DNS name');
    assert.deepEqual(decision.located, { instanceId: undefined, status: 'absent', via: 'none' });
  });

  it('a Node found by its DNS name only', () => {
    const decision = decideNode(
      { name: 'ip-10-0-0-9.ec2.internal', providerId: undefined, ready: 'False' },
      new Map(),
      lookupOf([fact('i-0dd', 'terminated', 'ip-10-0-0-9.ec2.internal')]),
    );
    assert.equal(decision.action, 'delete');
    assert.deepEqual(decision.located, { instanceId: 'i-0dd', status: 'terminated', via: 'dns-name' });
  });

  it('keeps a Ready Node of a terminated instance, saying why', () => {
    const decision = decideNode(
      { name: 'n1', providerId: 'aws:///us-east-1a/i-0aa', ready: 'True' },
      new Map(),
      lookupOf([fact('i-0aa', 'terminated')]),
    );
    assert.equal(decision.action, 'keep');
    assert.equal(
      decision.reason,
      'instance i-0aa is terminated, but its kubelet still reports Ready: kept until the node controller marks it NotReady',
    );
  });

  it('plans every Node', () => {
    const lookup = lookupOf([fact('i-0aa', 'running'), fact('i-0bb', 'terminated')]);
    const decisions = planNodes(
      [
        { name: 'a', providerId: 'aws:///z/i-0aa', ready: 'False' },
        { name: 'b', providerId: 'aws:///z/i-0bb', ready: 'False' },
      ],
      new Map(),
      lookup,
    );
    assert.deepEqual(
      decisions.map((d) => [d.node.name, d.action]),
      [
        ['a', 'keep'],
        ['b', 'delete'],
      ],
    );
  });

  it('reads only whole AWS provider ids', () => {
    assert.equal(instanceIdFromProviderId('aws:///us-east-1a/i-0123abcd'), 'i-0123abcd');
    assert.equal(instanceIdFromProviderId('aws:////i-0123abcd'), 'i-0123abcd');
    assert.equal(instanceIdFromProviderId('xaws:///us-east-1a/i-0123abcd'), undefined);
    assert.equal(instanceIdFromProviderId('aws:///us-east-1a/i-0123abcd/extra'), undefined);
    assert.equal(instanceIdFromProviderId('aws:///us-east-1a/i-0123abcdx'), undefined);
  });
});

describe('registry by node name', () => {
  it('maps each node name to the instance of its newest join, skipping records without one', () => {
    const registry = registryByNodeName([
      { instanceId: 'i-new', role: 'control-plane', joinedAt: '2026-01-02T00:00:00.000Z', nodeName: 'n1' },
      { instanceId: 'i-old', role: 'control-plane', joinedAt: '2026-01-01T00:00:00.000Z', nodeName: 'n1' },
      { instanceId: 'i-other', role: 'worker', joinedAt: '2026-01-01T00:00:00.000Z', nodeName: 'n2' },
      { instanceId: 'i-unnamed', role: 'worker', joinedAt: '2026-01-03T00:00:00.000Z' },
    ]);
    assert.deepEqual([...registry.entries()].sort(), [
      ['n1', 'i-new'],
      ['n2', 'i-other'],
    ]);
  });
});

describe('etcd decisions', () => {
  const alive: MemberProbe = { alive: true };

  it('keeps a member without a name (added, never started), whatever EC2 says', () => {
    const unnamed = member('');
    const plan = planEtcd({
      members: [member('a'), member('b'), unnamed],
      probes: new Map([
        ['id-a', alive],
        ['id-b', alive],
      ]),
      registry: new Map(),
      lookup: lookupOf([]),
    });
    assert.equal(plan.kind, 'ok');
    const decision = plan.decisions.find((d) => d.member.id === unnamed.id);
    assert.equal(decision?.action, 'keep');
    assert.match(decision?.reason ?? '', /has no name \(added but never started\)/);
  });

  it('names the instance state and the probe answer in its reasons', () => {
    const plan = planEtcd({
      members: [member('a'), member('b'), member('c'), member('d'), member('e')],
      probes: new Map([
        ['id-a', alive],
        ['id-b', alive],
        ['id-c', alive],
        ['id-d', { alive: false, reason: 'connection refused' }],
      ]),
      registry: new Map([
        ['a', 'i-a'],
        ['b', 'i-b'],
        ['c', 'i-c'],
        ['d', 'i-d'],
        ['e', 'i-e'],
      ]),
      lookup: lookupOf([fact('i-a', 'running'), fact('i-b', 'running'), fact('i-c', 'shutting-down')]),
    });
    assert.deepEqual(
      plan.decisions.map((d) => d.action),
      ['keep', 'keep', 'keep', 'remove', 'remove'],
    );
    const reasons = Object.fromEntries(plan.decisions.map((d) => [d.member.name, d.reason]));
    assert.deepEqual(reasons, {
      a: 'instance i-a is running: never removed while its instance exists',
      b: 'instance i-b is running: never removed while its instance exists',
      c: 'instance i-c is shutting down (kboot leave may be at work; removed once it is terminated): never removed while its instance exists',
      d: 'instance i-d does not exist any more; the member does not answer (connection refused)',
      e: 'instance i-e does not exist any more; the member does not answer (not probed)',
    });
  });

  it('says "no answer" for a dead member whose probe gave no reason', () => {
    const plan = planEtcd({
      members: [member('a'), member('b'), member('c')],
      probes: new Map([
        ['id-a', alive],
        ['id-b', alive],
        ['id-c', { alive: false }],
      ]),
      registry: new Map([['c', 'i-c']]),
      lookup: lookupOf([fact('i-c', 'terminated')]),
    });
    const decision = plan.decisions.find((d) => d.member.name === 'c');
    assert.equal(decision?.reason, 'instance i-c is terminated; the member does not answer (no answer)');
  });

  it('keeps a member of a terminated instance that still answers, saying so', () => {
    const plan = planEtcd({
      members: [member('a')],
      probes: new Map([['id-a', alive]]),
      registry: new Map([['a', 'i-a']]),
      lookup: lookupOf([fact('i-a', 'terminated')]),
    });
    assert.equal(
      plan.decisions[0]?.reason,
      'instance i-a is terminated, but the member answers on its client URLs: kept',
    );
    assert.equal(plan.decisions[0]?.action, 'keep');
  });

  it('removes learners first, then in name order', () => {
    // a, b, c answer (3 of 5 voting members: quorum holds); e, d and the learner are gone.
    const plan = (names: string[], learner?: string) =>
      planEtcd({
        members: names.map((name) => member(name, { isLearner: name === learner })),
        probes: new Map(['a', 'b', 'c'].map((name) => [`id-${name}`, alive])),
        registry: new Map(['a', 'b', 'c'].map((name) => [name, `i-${name}`])),
        lookup: lookupOf([fact('i-a', 'running'), fact('i-b', 'running'), fact('i-c', 'running')]),
      });
    const first = (p: ReturnType<typeof plan>) => (p.kind === 'ok' ? p.next?.member.name : p.kind);
    assert.equal(first(plan(['a', 'b', 'c', 'e', 'd'])), 'd');
    assert.equal(first(plan(['a', 'b', 'c', 'e', 'd', 'z'], 'z')), 'z');
    assert.equal(first(plan(['z', 'a', 'b', 'c', 'e', 'd'], 'z')), 'z');
  });

  it('names the members that do not answer when quorum is lost (by id when unnamed)', () => {
    const plan = planEtcd({
      members: [
        member('a'),
        member('b'),
        member('', { id: 'id-unnamed' }),
        member('learner', { isLearner: true }),
      ],
      probes: new Map([['id-a', alive]]),
      registry: new Map([['b', 'i-b']]),
      lookup: lookupOf([fact('i-a', 'running')]),
    });
    assert.equal(plan.kind, 'quorum-lost');
    assert.match(
      plan.kind === 'quorum-lost' ? plan.explanation : '',
      /kboot removes nothing\. Recover the cluster from an etcd snapshot \(etcd disaster recovery: `etcdutl snapshot restore` on one control-plane member, start it with --force-new-cluster, then let the other masters join again\), or bring the lost members back if their disks survive\.$/,
    );
    assert.match(
      plan.kind === 'quorum-lost' ? plan.explanation : '',
      /^etcd has lost quorum: only 1 of 3 members answer \(2 needed; not answering: b, id-unnamed\), so it cannot commit/,
    );
  });
});
