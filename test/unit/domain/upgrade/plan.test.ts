/**
 * The upgrade planner: what it refuses (with every reason), and the order it plans — cluster
 * configuration, the control plane one instance at a time (oldest first), the addons, then each
 * worker group by its maxUnavailable — and what a rerun plans after part of the roll is done.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClusterInstance,
  type PlanStep,
  planUpgrade,
  type UpgradeTarget,
} from '../../../../src/domain/upgrade/plan.js';
import { sampleRecord } from '../state/records.js';
import { sampleUpgrade } from './samples.js';

const NOW = Date.parse('2025-12-01T12:00:00.000Z'); // 1.32 supported, 1.31 past its end of life
const OLD_X86 = 'ami-0aaaaaaaaaaaaaaa1';
const OLD_ARM = 'ami-0aaaaaaaaaaaaaaa2';
const NEW_X86 = 'ami-0bbbbbbbbbbbbbbb1';
const NEW_ARM = 'ami-0bbbbbbbbbbbbbbb2';

function instance(
  instanceId: string,
  role: ClusterInstance['role'],
  extra: Partial<ClusterInstance> = {},
): ClusterInstance {
  return {
    instanceId,
    role,
    arch: 'x86_64',
    imageId: OLD_X86,
    launchedAt: '2026-11-01T00:00:00.000Z',
    ...(role === 'worker' ? { group: 'apps' } : {}),
    ...extra,
  };
}

const CONTROL_PLANE = [
  instance('i-0c3', 'control-plane', { launchedAt: '2026-11-03T00:00:00.000Z' }),
  instance('i-0c1', 'control-plane', { launchedAt: '2026-11-01T00:00:00.000Z' }),
  instance('i-0c2', 'control-plane', { launchedAt: '2026-11-02T00:00:00.000Z' }),
];
const WORKERS = [
  instance('i-0w1', 'worker'),
  instance('i-0w2', 'worker'),
  instance('i-0w3', 'worker'),
  instance('i-0g1', 'worker', { group: 'gpu', arch: 'arm64', imageId: OLD_ARM }),
];
const TARGET: UpgradeTarget = {
  kubernetesVersion: '1.32.9',
  images: { x86_64: NEW_X86, arm64: NEW_ARM },
  maxUnavailable: { apps: 2 },
};

function plan(
  target: Partial<UpgradeTarget> = {},
  instances: readonly ClusterInstance[] = [...CONTROL_PLANE, ...WORKERS],
  record = sampleRecord(),
) {
  return planUpgrade({ record, target: { ...TARGET, ...target }, instances, nowMs: NOW });
}

function steps(result: ReturnType<typeof plan>): PlanStep[] {
  assert.ok(result.ok, JSON.stringify(result));
  return result.steps;
}

describe('upgrade planner: refusals', () => {
  for (const [what, target, code, message] of [
    [
      'a downgrade',
      { kubernetesVersion: '1.31.1' },
      'downgrade',
      /1\.31\.1 is older than the cluster's 1\.31\.2: kubeadm does not downgrade/,
    ],
    [
      'more than one minor',
      { kubernetesVersion: '1.33.0' },
      'skips-a-minor',
      /more than one minor .* upgrade one minor at a time \(next: 1\.32\)/,
    ],
    ['a minor kboot does not know', { kubernetesVersion: '1.38.0' }, 'skips-a-minor', /more than one minor/],
    [
      'not a version',
      { kubernetesVersion: 'latest' },
      'not-a-version',
      /"latest" is not a Kubernetes version/,
    ],
    [
      'a version without its patch',
      { kubernetesVersion: '1.32' },
      'not-a-version',
      /not a Kubernetes version/,
    ],
    [
      'no AMI for an architecture in use',
      { images: { x86_64: NEW_X86 } },
      'no-image',
      /no AMI for arm64 at Kubernetes 1\.32\.9, and 1 instance\(s\) run arm64/,
    ],
    [
      'a maxUnavailable below one',
      { maxUnavailable: { apps: 0 } },
      'bad-max-unavailable',
      /worker group apps: maxUnavailable 0 must be a whole number of at least 1/,
    ],
  ] as const) {
    it(`refuses ${what}`, () => {
      const result = plan(target as Partial<UpgradeTarget>);
      assert.ok(!result.ok);
      assert.equal(result.refusals[0]?.code, code);
      assert.match(result.refusals[0]?.message ?? '', message);
    });
  }

  it('refuses a minor the versions table does not know, even one minor ahead', () => {
    const record = sampleRecord({ kubernetesVersion: '1.37.1' });
    const result = plan({ kubernetesVersion: '1.38.0' }, CONTROL_PLANE, record);
    assert.ok(!result.ok);
    assert.equal(result.refusals[0]?.code, 'unknown-minor');
    assert.match(
      result.refusals[0]?.message ?? '',
      /kboot does not know Kubernetes 1\.38 \(it knows 1\.30, .*1\.37\): upgrade kboot first/,
    );
  });

  it('gives every reason at once', () => {
    const result = plan({ kubernetesVersion: '1.33.0', images: {} });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.refusals.map((refusal) => refusal.code),
      ['skips-a-minor', 'no-image', 'no-image'],
    );
  });

  it('refuses another target while an upgrade is recorded, and a cluster without a control plane', () => {
    const record = sampleRecord({
      upgrade: sampleUpgrade({ to: { kubernetesVersion: '1.32.1', images: { x86_64: NEW_X86 } } }),
    });
    const other = plan({}, undefined, record);
    assert.ok(!other.ok);
    assert.match(
      other.refusals[0]?.message ?? '',
      /an upgrade to 1\.32\.1 is recorded \(phase control-plane, 0 instance\(s\) done\): finish it with that spec first/,
    );
    const empty = plan({}, WORKERS);
    assert.ok(!empty.ok);
    assert.equal(empty.refusals[0]?.code, 'no-control-plane');
  });
});

describe('upgrade planner: the order', () => {
  it('a minor upgrade: configuration, control plane oldest first, addons, then workers by group and maxUnavailable, finish', () => {
    const result = plan();
    assert.ok(result.ok);
    assert.equal(result.kind, 'minor');
    assert.equal(result.from, '1.31.2');
    assert.equal(result.to, '1.32.9');
    assert.deepEqual(result.steps, [
      { kind: 'cluster-configuration', to: '1.32.9' },
      { kind: 'replace-control-plane', instanceId: 'i-0c1', arch: 'x86_64', imageId: NEW_X86 },
      { kind: 'replace-control-plane', instanceId: 'i-0c2', arch: 'x86_64', imageId: NEW_X86 },
      { kind: 'replace-control-plane', instanceId: 'i-0c3', arch: 'x86_64', imageId: NEW_X86 },
      { kind: 'addons', to: '1.32.9' },
      {
        kind: 'replace-workers',
        group: 'apps',
        instanceIds: ['i-0w1', 'i-0w2'],
        imageIds: { x86_64: NEW_X86 },
      },
      { kind: 'replace-workers', group: 'apps', instanceIds: ['i-0w3'], imageIds: { x86_64: NEW_X86 } },
      { kind: 'replace-workers', group: 'gpu', instanceIds: ['i-0g1'], imageIds: { arm64: NEW_ARM } },
      { kind: 'finish', to: '1.32.9' },
    ]);
    assert.deepEqual(result.warnings, []);
  });

  it('a patch upgrade plans the same steps; an AMI-only roll has no configuration or addons step', () => {
    assert.equal((plan({ kubernetesVersion: '1.31.13' }) as { kind: string }).kind, 'patch');
    const roll = plan({ kubernetesVersion: '1.31.2' });
    assert.ok(roll.ok);
    assert.equal(roll.kind, 'image');
    assert.deepEqual(
      roll.steps.map((step) => step.kind),
      [
        'replace-control-plane',
        'replace-control-plane',
        'replace-control-plane',
        'replace-workers',
        'replace-workers',
        'replace-workers',
        'finish',
      ],
    );
  });

  it('plans nothing for a cluster already on the target AMIs', () => {
    const current = [...CONTROL_PLANE, ...WORKERS].map((i) => ({
      ...i,
      imageId: i.arch === 'arm64' ? NEW_ARM : NEW_X86,
    }));
    const result = plan({ kubernetesVersion: '1.31.2' }, current);
    assert.ok(result.ok);
    assert.deepEqual(result.steps, []);
  });

  it('a rerun after part of the roll plans only what is left, never an instance twice', () => {
    const replacedFirst = instance('i-0n1', 'control-plane', {
      imageId: NEW_X86,
      launchedAt: '2026-12-07T21:00:00.000Z',
    });
    const instances = [replacedFirst, ...CONTROL_PLANE.filter((i) => i.instanceId !== 'i-0c1'), ...WORKERS];
    const record = sampleRecord({
      upgrade: sampleUpgrade({
        done: [
          { instanceId: 'i-0c1', role: 'control-plane', replacedBy: 'i-0n1', at: '2026-12-07T21:05:00.000Z' },
        ],
      }),
    });
    assert.deepEqual(steps(plan({}, instances, record)).slice(0, 4), [
      { kind: 'cluster-configuration', to: '1.32.9' },
      { kind: 'replace-control-plane', instanceId: 'i-0c2', arch: 'x86_64', imageId: NEW_X86 },
      { kind: 'replace-control-plane', instanceId: 'i-0c3', arch: 'x86_64', imageId: NEW_X86 },
      { kind: 'addons', to: '1.32.9' },
    ]);
    // In the workers phase: no configuration, control-plane or addons step; a worker recorded done
    // (its old instance not yet gone from the group) is not replaced again.
    const newControlPlane = CONTROL_PLANE.map((i) => ({ ...i, imageId: NEW_X86 }));
    const inWorkers = sampleRecord({
      upgrade: sampleUpgrade({
        phase: 'workers',
        done: [{ instanceId: 'i-0w1', role: 'worker', group: 'apps', at: '2026-12-07T21:30:00.000Z' }],
      }),
    });
    assert.deepEqual(steps(plan({}, [...newControlPlane, ...WORKERS], inWorkers)), [
      {
        kind: 'replace-workers',
        group: 'apps',
        instanceIds: ['i-0w2', 'i-0w3'],
        imageIds: { x86_64: NEW_X86 },
      },
      { kind: 'replace-workers', group: 'gpu', instanceIds: ['i-0g1'], imageIds: { arm64: NEW_ARM } },
      { kind: 'finish', to: '1.32.9' },
    ]);
  });

  it('warns, without refusing, about a target past its end of life (climbing out of it must stay possible)', () => {
    const record = sampleRecord({ kubernetesVersion: '1.30.14' });
    const result = plan({ kubernetesVersion: '1.31.13' }, CONTROL_PLANE, record);
    assert.ok(result.ok);
    assert.match(result.warnings[0] ?? '', /Kubernetes 1\.31 reached its end of life on 2025-10-28/);
    const newerPatch = plan({ kubernetesVersion: '1.32.99' });
    assert.ok(newerPatch.ok);
    assert.match(
      newerPatch.warnings.join('\n'),
      /1\.32\.99 is newer than the newest 1\.32 patch kboot knows \(1\.32\.9\)/,
    );
  });
});
