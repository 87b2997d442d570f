import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMemberRecord } from '../../../../src/domain/state/member.js';

const BASE = { instanceId: 'i-0abc1234', role: 'control-plane', joinedAt: '2025-01-01T00:00:00.000Z' };

describe('parseMemberRecord: kubernetesVersion', () => {
  it('reads a member with its Kubernetes version, and an older one without it', () => {
    assert.equal(parseMemberRecord({ ...BASE, kubernetesVersion: 'v1.32.0' })?.kubernetesVersion, 'v1.32.0');
    const older = parseMemberRecord(BASE);
    assert.ok(older !== undefined);
    assert.equal(older.kubernetesVersion, undefined);
  });

  for (const bad of ['', 'latest', '1', 'v1.31.x', 42]) {
    it(`skips a member whose kubernetesVersion is ${JSON.stringify(bad)}`, () => {
      assert.equal(parseMemberRecord({ ...BASE, kubernetesVersion: bad }), undefined);
    });
  }
});
