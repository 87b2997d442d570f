/**
 * The cluster record's `upgrade` field: read strictly, every bad field named, and tied to the
 * record's own kubernetesVersion (the from version while it runs, the target once done).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import { parseClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import type { UpgradeRecord } from '../../../../src/domain/upgrade/record.js';
import { sampleRecord } from '../state/records.js';
import { sampleUpgrade } from './samples.js';

const SOURCE = { cluster: 'prod', table: 'kboot' };

function parse(raw: unknown): ReturnType<typeof parseClusterRecord> {
  return parseClusterRecord(raw, SOURCE);
}

function refused(raw: unknown, message: RegExp): void {
  assert.throws(
    () => parse(raw),
    (error: unknown) => error instanceof StateConflictError && message.test(error.message),
  );
}

const done = (instanceId: string, role: 'control-plane' | 'worker', extra: object = {}) => ({
  instanceId,
  role,
  at: '2026-12-07T20:10:00.000Z',
  ...extra,
});

describe('the cluster record’s upgrade field', () => {
  it('reads an upgrade in progress and one that is done', () => {
    const running = sampleUpgrade({
      done: [done('i-0aaaaaaaaaaaaaaa1', 'control-plane', { replacedBy: 'i-0bbbbbbbbbbbbbbb1' })],
    });
    assert.deepEqual(parse(sampleRecord({ upgrade: running })).upgrade, running);
    const finished = sampleUpgrade({
      phase: 'done',
      done: [done('i-0aaaaaaaaaaaaaaa1', 'worker', { group: 'apps' })],
    });
    assert.equal(
      parse(sampleRecord({ kubernetesVersion: '1.32.9', upgrade: finished })).upgrade?.phase,
      'done',
    );
    assert.equal(parse(sampleRecord()).upgrade, undefined, 'absent: no upgrade');
  });

  for (const [what, upgrade, message] of [
    [
      'a downgrade',
      sampleUpgrade({ to: { kubernetesVersion: '1.31.1', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } } }),
      /field upgrade\.to\.kubernetesVersion: is older than from: kubeadm does not downgrade/,
    ],
    [
      'a jump of two minors',
      sampleUpgrade({ to: { kubernetesVersion: '1.33.0', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } } }),
      /field upgrade\.to\.kubernetesVersion: is more than one minor after from/,
    ],
    [
      'a target without an AMI',
      sampleUpgrade({ to: { kubernetesVersion: '1.32.9', images: {} } }),
      /field upgrade\.to\.images: names no AMI/,
    ],
    [
      'an instance recorded twice',
      sampleUpgrade({
        done: [done('i-0aaaaaaaaaaaaaaa1', 'control-plane'), done('i-0aaaaaaaaaaaaaaa1', 'control-plane')],
      }),
      /field upgrade\.done\.1\.instanceId: i-0aaaaaaaaaaaaaaa1 is recorded twice/,
    ],
    [
      'a worker done before the control plane',
      sampleUpgrade({ done: [done('i-0aaaaaaaaaaaaaaa1', 'worker')] }),
      /field upgrade\.done\.0\.role: a worker is done while the control plane is still being replaced/,
    ],
    ['an unknown phase', { ...sampleUpgrade(), phase: 'half-way' }, /field upgrade\.phase/],
    ['an unknown field', { ...sampleUpgrade(), paused: true }, /field upgrade: Unrecognized key/i],
    [
      'a bad instance id',
      sampleUpgrade({ done: [done('node-1', 'control-plane')] }),
      /field upgrade\.done\.0\.instanceId: expected an instance id/,
    ],
    [
      'a bad AMI id',
      sampleUpgrade({ to: { kubernetesVersion: '1.32.9', images: { x86_64: 'image-1' } } }),
      /field upgrade\.to\.images\.x86_64: expected an AMI id/,
    ],
    [
      'an unknown architecture',
      sampleUpgrade({
        to: { kubernetesVersion: '1.32.9', images: { sparc: 'ami-0bbbbbbbbbbbbbbb2' } as never },
      }),
      /field upgrade\.to\.images/,
    ],
    [
      'a version without its patch',
      sampleUpgrade({ to: { kubernetesVersion: '1.32', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } } }),
      /field upgrade\.to\.kubernetesVersion: expected a version like 1\.31\.2/,
    ],
  ] as const) {
    it(`refuses ${what}, naming the field`, () =>
      refused(sampleRecord({ upgrade: upgrade as UpgradeRecord }), message));
  }

  it('refuses a record whose version does not match the upgrade’s phase', () => {
    refused(
      sampleRecord({ kubernetesVersion: '1.32.9', upgrade: sampleUpgrade() }),
      /field kubernetesVersion: the upgrade is in phase control-plane, so kubernetesVersion should be 1\.31\.2 \(its from version\)/,
    );
    refused(
      sampleRecord({ upgrade: sampleUpgrade({ phase: 'done' }) }),
      /so kubernetesVersion should be 1\.32\.9 \(its to version\)/,
    );
  });
});
