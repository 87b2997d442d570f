import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import type { InstanceFact, MemberProbe, NodeObject } from '../../../../src/domain/cleanup/ports.js';
import {
  type CleanupPorts,
  cleanupLostInstances,
  requireQuorum,
} from '../../../../src/domain/cleanup/run.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import { silentLogger } from '../../../support/silent-logger.js';

const name = (i: number) => `ip-10-0-1-${i}.ec2.internal`;

/** An etcd that removes for real, lists what is left, and answers probes from `alive`. */
function fakeEtcd(count: number, alive: Set<number>) {
  let members: EtcdMember[] = Array.from({ length: count }, (_, i) => ({
    id: `1000000000000000000${i}`,
    name: name(i),
    peerUrls: [],
    clientUrls: [`https://10.0.1.${i}:2379`],
    isLearner: false,
  }));
  const calls: string[] = [];
  return {
    calls,
    etcd: {
      async list() {
        calls.push('list');
        return members;
      },
      async remove(id: string) {
        calls.push(`remove ${id}`);
        members = members.filter((m) => m.id !== id);
      },
      async probe(member: EtcdMember): Promise<MemberProbe> {
        return { alive: alive.has(Number(member.name.split('-').at(-1)?.split('.')[0])) };
      },
    },
  };
}

function registry(count: number): MemberRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    instanceId: `i-${i}`,
    role: 'control-plane' as const,
    joinedAt: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
    nodeName: name(i),
  }));
}

function instances(states: Record<number, InstanceFact['state']>) {
  return {
    async lookup() {
      const byId = new Map<string, InstanceFact>();
      for (const [i, state] of Object.entries(states)) {
        byId.set(`i-${i}`, {
          instanceId: `i-${i}`,
          state,
          privateDnsName: undefined,
          privateIp: undefined,
          cluster: 'c',
        });
      }
      return { byId, byDnsName: new Map() };
    },
  };
}

const ctx = (dryRun = false) => ({
  cluster: 'c',
  logger: silentLogger(),
  signal: new AbortController().signal,
  dryRun,
});

describe('cleanupLostInstances', () => {
  it('removes lost members one at a time, listing again after each', async () => {
    const { etcd, calls } = fakeEtcd(5, new Set([0, 1, 2]));
    const ports: CleanupPorts = {
      registry: async () => registry(5),
      instances: instances({ 0: 'running', 1: 'running', 2: 'running', 3: 'terminated' }),
      etcd,
      nodes: undefined,
    };
    const report = await cleanupLostInstances(ports, ctx());
    assert.equal(report.outcome, 'cleaned');
    assert.deepEqual(calls, [
      'list',
      'remove 10000000000000000003',
      'list',
      'remove 10000000000000000004',
      'list',
    ]);
    assert.deepEqual(
      report.etcd.members.filter((m) => m.action === 'removed').map((m) => [m.name, m.instanceState]),
      [
        [name(3), 'terminated'],
        [name(4), 'absent'],
      ],
    );
    assert.deepEqual(report.etcd.quorum, { votingMembers: 3, aliveMembers: 3, needed: 2 });
  });

  it('removes nothing in a dry run', async () => {
    const { etcd, calls } = fakeEtcd(3, new Set([0, 1]));
    const report = await cleanupLostInstances(
      {
        registry: async () => registry(3),
        instances: instances({ 0: 'running', 1: 'running' }),
        etcd,
        nodes: undefined,
      },
      ctx(true),
    );
    assert.equal(report.outcome, 'planned');
    assert.deepEqual(calls, ['list']);
    assert.equal(report.etcd.members.find((m) => m.name === name(2))?.action, 'would-remove');
  });

  it('refuses below quorum, touches no Node, and requireQuorum says what to do', async () => {
    const { etcd, calls } = fakeEtcd(3, new Set([0]));
    const deleted: string[] = [];
    const nodes = {
      list: async (): Promise<NodeObject[]> => [{ name: name(2), providerId: undefined, ready: 'Unknown' }],
      delete: async (n: string) => {
        deleted.push(n);
      },
    };
    const report = await cleanupLostInstances(
      { registry: async () => registry(3), instances: instances({ 0: 'running' }), etcd, nodes },
      ctx(),
    );
    assert.equal(report.outcome, 'quorum-lost');
    assert.deepEqual(calls, ['list']);
    assert.deepEqual(deleted, []);
    assert.throws(
      () => requireQuorum(report),
      (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.equal(error.exitCode, 8);
        assert.match(error.message, /lost quorum \(1 of 3 members answer, 2 needed\)/);
        assert.match(error.hint ?? '', /snapshot/);
        return true;
      },
    );
  });

  it('goes on with etcd when Node objects cannot be listed', async () => {
    const { etcd } = fakeEtcd(3, new Set([0, 1]));
    const nodes = {
      list: async (): Promise<NodeObject[]> => {
        throw new Error('the API server is down');
      },
      delete: async () => {
        throw new Error('not expected');
      },
    };
    const report = await cleanupLostInstances(
      {
        registry: async () => registry(3),
        instances: instances({ 0: 'running', 1: 'running' }),
        etcd,
        nodes,
      },
      ctx(),
    );
    assert.equal(report.outcome, 'cleaned');
    assert.match(report.nodes.skipped ?? '', /the API server is down/);
  });
});
