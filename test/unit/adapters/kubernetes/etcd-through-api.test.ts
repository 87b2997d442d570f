/** etcdctl's JSON: 64-bit member IDs keep every digit. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEtcdctlJson } from '../../../../src/adapters/kubernetes/etcd-through-api.js';

describe('parseEtcdctlJson', () => {
  it('reads integers past 2^53 as text, small ones as numbers', () => {
    const text =
      '{"header":{"cluster_id":17237436991929493444,"raft_term":2},"members":[{"ID":9372538179322589801,"name":"a"},{"ID":12,"name":"b"}]}';
    assert.deepEqual(parseEtcdctlJson(text), {
      header: { cluster_id: '17237436991929493444', raft_term: 2 },
      members: [
        { ID: '9372538179322589801', name: 'a' },
        { ID: 12, name: 'b' },
      ],
    });
    assert.deepEqual(parseEtcdctlJson('{"alarms":[{"memberID":18446744073709551615,"alarm":1}]}'), {
      alarms: [{ memberID: '18446744073709551615', alarm: 1 }],
    });
    assert.equal(parseEtcdctlJson('Error: context deadline exceeded'), undefined);
  });
});
