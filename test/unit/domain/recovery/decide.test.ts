/** Which checks decide a restore (pure): each one that fails is named, and the probes count only once EC2 says every member is gone. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceFact } from '../../../../src/domain/cleanup/ports.js';
import {
  decideRecovery,
  etcdClientUrl,
  type LivenessFacts,
  masterAddress,
} from '../../../../src/domain/recovery/decide.js';

const NOTHING = { answers: false, conclusive: true, detail: 'ECONNREFUSED' };

function facts(overrides: Partial<LivenessFacts> = {}): LivenessFacts {
  const fact = (instanceId: string): InstanceFact => ({
    instanceId,
    state: 'terminated',
    privateDnsName: undefined,
    privateIp: undefined,
    cluster: 'prod',
  });
  return {
    initialized: true,
    masters: [{ instanceId: 'i-1', nodeName: 'ip-10-0-1-11.ec2.internal', privateIp: undefined }],
    instances: { byId: new Map([['i-1', fact('i-1')]]), byDnsName: new Map() },
    etcd: new Map([['https://10.0.1.11:2379', NOTHING]]),
    api: { endpoint: 'https://api:6443', result: NOTHING },
    ...overrides,
  };
}

describe('the recovery decision', () => {
  it('restores when every check holds, listing what it saw', () => {
    const verdict = decideRecovery(facts());
    assert.equal(verdict.restore, true);
    assert.deepEqual(verdict.checks, [
      'EC2: i-1 (ip-10-0-1-11.ec2.internal) is terminated',
      'etcd of i-1 (ip-10-0-1-11.ec2.internal) at https://10.0.1.11:2379: ECONNREFUSED',
      'API endpoint https://api:6443: ECONNREFUSED',
    ]);
  });

  it('never restores an uninitialized cluster, nor one with no recorded member', () => {
    assert.equal(decideRecovery(facts({ initialized: false })).restore, false);
    const none = decideRecovery(facts({ masters: [] }));
    assert.equal(none.restore, false);
    assert.match(none.restore ? '' : none.reasons.join(), /no control-plane member is recorded/);
  });

  it('names an etcd URL that was not probed as a reason, never as a pass', () => {
    const verdict = decideRecovery(facts({ etcd: new Map() }));
    assert.equal(verdict.restore, false);
    assert.match(verdict.restore ? '' : verdict.reasons.join(), /was not probed/);
  });

  it('takes the address from the member record, else from an ip-a-b-c-d node name; IPv6 in brackets', () => {
    assert.equal(
      masterAddress({ instanceId: 'i', nodeName: 'ip-10-0-1-11.ec2.internal', privateIp: '10.9.9.9' }),
      '10.9.9.9',
    );
    assert.equal(
      masterAddress({ instanceId: 'i', nodeName: 'ip-10-0-1-11.ec2.internal', privateIp: undefined }),
      '10.0.1.11',
    );
    assert.equal(
      masterAddress({ instanceId: 'i', nodeName: 'i-0abc.eu-west-1.compute.internal', privateIp: undefined }),
      undefined,
    );
    assert.equal(etcdClientUrl('fd00::1'), 'https://[fd00::1]:2379');
  });
});
