/** The health gate's problem lines: one per failed check, naming it and what it saw. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiProblem,
  type EtcdMember,
  etcdAlarmProblems,
  etcdHealthProblem,
  etcdMemberProblems,
  etcdUnreachableProblem,
  nodeProblems,
  oneLine,
  staticPodProblems,
} from '../../../../src/domain/upgrade/health-problems.js';

const member = (name: string, id = `1${name.length}000000000000000001`, learner = false): EtcdMember => ({
  id,
  name,
  clientUrls: [`https://${name}:2379`],
  learner,
});

describe('health gate problem lines', () => {
  it('etcd members: equal to the expected nodes is no problem; missing, extra, learner, unstarted each one line', () => {
    assert.deepEqual(etcdMemberProblems(['a', 'b', 'c'], [member('c'), member('a'), member('b')]), []);
    assert.deepEqual(
      etcdMemberProblems(
        ['a', 'b', 'c'],
        [member('a'), member('b', '7', true), member('old'), member('', '42')],
      ),
      [
        'etcd members: b is still a learner, not a voting member',
        'etcd members: member 42 was added but has not started',
        'etcd members: no member for control-plane node c',
        'etcd members: old is a member but not an expected control-plane node',
      ],
    );
  });

  it('etcd health, alarms and an etcd nobody could ask', () => {
    assert.equal(
      etcdHealthProblem(
        member('b'),
        'kubectl exec exited 1: https://b:2379 is unhealthy\n Error: unhealthy cluster',
      ),
      'etcd health: b (https://b:2379) is unhealthy: kubectl exec exited 1: https://b:2379 is unhealthy | Error: unhealthy cluster',
    );
    assert.deepEqual(
      etcdAlarmProblems(
        [
          { memberId: '99', alarm: 'NOSPACE' },
          { memberId: '5', alarm: 'CORRUPT' },
        ],
        [member('a', '99')],
      ),
      ['etcd alarms: NOSPACE raised on a', 'etcd alarms: CORRUPT raised on member 5'],
    );
    assert.equal(
      etcdUnreachableProblem([], ''),
      'etcd members: no etcd Pod is Ready on an expected control-plane node to ask',
    );
    assert.equal(
      etcdUnreachableProblem(['a', 'b'], 'Error: context deadline exceeded'),
      'etcd members: no etcd Pod could list the members (asked a, b): Error: context deadline exceeded',
    );
  });

  it('static pods: each of the four components of each node, missing or not Ready', () => {
    const ready = (name: string) => ({ name, nodeName: 'n1', phase: 'Running', ready: 'True' });
    const all = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) =>
      ready(`${c}-n1`),
    );
    assert.deepEqual(staticPodProblems(['n1'], all), []);
    const pods = [
      ...all.slice(0, 2),
      { name: 'kube-controller-manager-n1', nodeName: 'n1', phase: 'Pending', ready: 'False' },
    ];
    assert.deepEqual(staticPodProblems(['n1'], pods), [
      'static pods: kube-system/kube-controller-manager-n1 is not Ready (phase Pending, Ready False)',
      'static pods: kube-system/kube-scheduler-n1 is missing',
    ]);
  });

  it('nodes: not registered, no Ready condition yet, not Ready with its reason', () => {
    assert.deepEqual(
      nodeProblems(
        ['a', 'b', 'c', 'd'],
        [
          { name: 'a', ready: { status: 'True' } },
          { name: 'c', ready: undefined },
          { name: 'd', ready: { status: 'False', reason: 'KubeletNotReady' } },
        ],
      ),
      [
        'nodes: b is not registered',
        'nodes: c has not reported Ready yet',
        'nodes: d is not Ready (Ready False: KubeletNotReady)',
      ],
    );
  });

  it('the API line names the URL; any detail is one line, cut at its limit', () => {
    assert.equal(
      apiProblem('https://lb:6443/readyz', 'Error from server\n[-]etcd failed'),
      'api: https://lb:6443/readyz did not answer ok through the load balancer: Error from server | [-]etcd failed',
    );
    assert.equal(oneLine('x'.repeat(400)).length, 300);
  });
});
