import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson } from '../../../../src/adapters/etcd/gateway.js';
import { parseEtcdEndpoints } from '../../../../src/cli/cleanup-wiring.js';
import { UsageError } from '../../../../src/core/errors.js';

describe('etcd gateway JSON', () => {
  it('keeps uint64 ids exact, quoted or not', () => {
    assert.deepEqual(parseJson('{"members":[{"ID":"18446744073709551615","name":"a"}]}'), {
      members: [{ ID: '18446744073709551615', name: 'a' }],
    });
    assert.deepEqual(parseJson('{"ID": 14541854276008281297, "n": 3}'), { ID: '14541854276008281297', n: 3 });
  });
});

describe('KBOOT_ETCD_ENDPOINTS', () => {
  it('parses a comma list of https URLs', () => {
    assert.deepEqual(parseEtcdEndpoints(' https://10.0.1.10:2379, https://10.0.2.10:2379 '), [
      'https://10.0.1.10:2379',
      'https://10.0.2.10:2379',
    ]);
    assert.equal(parseEtcdEndpoints(undefined), undefined);
    assert.equal(parseEtcdEndpoints(' '), undefined);
  });
  for (const bad of ['http://10.0.1.10:2379', '10.0.1.10:2379', 'https://ok:2379,nope']) {
    it(`rejects ${bad}`, () => {
      assert.throws(
        () => parseEtcdEndpoints(bad),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, /is not an https:\/\/ URL/);
          return true;
        },
      );
    });
  }
});
