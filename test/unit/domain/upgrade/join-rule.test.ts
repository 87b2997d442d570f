/** Who may join while an upgrade is recorded, and that nothing changes outside one. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tryParseKubeVersion } from '../../../../src/domain/kubeadm/version.js';
import { type JoinRuleInput, joinDecision } from '../../../../src/domain/upgrade/join-rule.js';
import { sampleRecord } from '../state/records.js';
import { sampleUpgrade } from './samples.js';

const v = (text: string) => {
  const version = tryParseKubeVersion(text);
  assert.ok(version !== undefined);
  return version;
};

const UPGRADING = sampleRecord({ upgrade: sampleUpgrade() }); // 1.31.2 → 1.32.9
const STEADY = sampleRecord(); // 1.31.2

function decide(
  action: JoinRuleInput['action'],
  kubeadm: string,
  record = UPGRADING,
  controlPlane: string[] = ['1.31.2', '1.31.2', '1.32.9'],
) {
  return joinDecision({ action, kubeadm: v(kubeadm), record, controlPlaneVersions: controlPlane.map(v) });
}

describe('joining while an upgrade is recorded', () => {
  const table: [string, JoinRuleInput['action'], string, string[] | undefined, string, RegExp | undefined][] =
    [
      ['a control plane at the target joins', 'join-control-plane', '1.32.9', undefined, 'join', undefined],
      [
        'a control plane at another patch of the target joins',
        'join-control-plane',
        '1.32.4',
        undefined,
        'join',
        undefined,
      ],
      [
        'a control plane at the old version is refused',
        'join-control-plane',
        '1.31.2',
        undefined,
        'refuse',
        /being upgraded from v1\.31\.2 to v1\.32\.9: a control-plane instance must run kubeadm 1\.32, this one runs v1\.31\.2/,
      ],
      ['a worker at the old version joins', 'join-worker', '1.31.2', undefined, 'join', undefined],
      [
        'a worker at the target waits while an API server is older',
        'join-worker',
        '1.32.9',
        undefined,
        'wait',
        /waits until every control-plane member runs 1\.32 \(2 of 3 still run an older API server\)/,
      ],
      [
        'a worker at the target joins once every API server runs it',
        'join-worker',
        '1.32.9',
        ['1.32.9', '1.32.9', '1.32.9'],
        'join',
        undefined,
      ],
      [
        'a worker at the target waits when no API server is known',
        'join-worker',
        '1.32.9',
        [],
        'wait',
        /0 of 0/,
      ],
      [
        'a worker two minors ahead is refused',
        'join-worker',
        '1.33.0',
        undefined,
        'refuse',
        /must run kubeadm 1\.31 or 1\.32, this one runs v1\.33\.0/,
      ],
      [
        'a worker a minor behind is refused',
        'join-worker',
        '1.30.14',
        undefined,
        'refuse',
        /must run kubeadm 1\.31 or 1\.32/,
      ],
    ];
  for (const [what, action, kubeadm, controlPlane, decision, reason] of table) {
    it(what, () => {
      const result = decide(action, kubeadm, UPGRADING, controlPlane);
      assert.equal(result.decision, decision, JSON.stringify(result));
      if (reason !== undefined) assert.match((result as { reason: string }).reason, reason);
    });
  }

  it('a worker at the target joins once the roll left its control-plane phase, without the members', () => {
    for (const phase of ['addons', 'workers'] as const) {
      const later = sampleRecord({ upgrade: sampleUpgrade({ phase }) });
      assert.equal(decide('join-worker', '1.32.9', later, []).decision, 'join', phase);
      assert.equal(
        decide('join-worker', '1.32.9', later, ['1.31.2']).decision,
        'join',
        `${phase}: a stale member`,
      );
      assert.equal(decide('join-worker', '1.31.2', later, []).decision, 'join', `${phase}: the old version`);
      assert.equal(decide('join-control-plane', '1.31.2', later).decision, 'refuse', phase);
    }
  });

  it('a patch or AMI-only roll admits its one minor, for both roles', () => {
    const patch = sampleRecord({
      upgrade: sampleUpgrade({
        to: { kubernetesVersion: '1.31.13', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } },
      }),
    });
    assert.equal(decide('join-worker', '1.31.13', patch).decision, 'join');
    assert.equal(decide('join-control-plane', '1.31.2', patch).decision, 'join');
  });

  it('outside an upgrade (none, or one done) the skew check is as before: same minor only', () => {
    assert.equal(decide('join-worker', '1.31.9', STEADY).decision, 'join');
    const newer = decide('join-control-plane', '1.32.9', STEADY);
    assert.equal(newer.decision, 'refuse');
    assert.match(
      (newer as { reason: string }).reason,
      /kubeadm v1\.32\.9 is newer than Kubernetes v1\.31\.2/,
    );
    const finished = sampleRecord({ kubernetesVersion: '1.32.9', upgrade: sampleUpgrade({ phase: 'done' }) });
    assert.equal(decide('join-worker', '1.32.9', finished).decision, 'join');
    assert.equal(decide('join-worker', '1.31.2', finished).decision, 'refuse');
  });
});
