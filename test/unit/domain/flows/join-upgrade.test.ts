/**
 * The boot flows while the cluster record carries an upgrade (1.31.2 → 1.32.9), over fake ports:
 * who joins, who waits (and what it reads while waiting), who is refused, and that outside an
 * upgrade nothing is read beyond the usual.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, IncompatibleError, InterruptedError } from '../../../../src/core/errors.js';
import { joinMasterFlow } from '../../../../src/domain/flows/join-master.js';
import { joinNodeFlow } from '../../../../src/domain/flows/join-node.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import type { UpgradeRecord } from '../../../../src/domain/upgrade/record.js';
import { captureLogger } from '../state/capture-logger.js';
import { sampleUpgrade } from '../upgrade/samples.js';
import {
  BootWorld,
  controlPlaneSecret,
  HOUR,
  initializedRecord,
  iso,
  joinSecret,
  MINUTE,
  START_MS,
} from './fake-deps.js';

function member(instanceId: string, kubernetesVersion?: string): MemberRecord {
  return {
    instanceId,
    role: 'control-plane',
    joinedAt: iso(START_MS - HOUR),
    ...(kubernetesVersion === undefined ? {} : { kubernetesVersion }),
  };
}

/** A cluster being upgraded; this instance runs `kubeadm`. Three control-plane members, one replaced. */
function world(role: 'worker' | 'control-plane', kubeadm: string, upgrade: Partial<UpgradeRecord> = {}) {
  const w = new BootWorld();
  w.role = role;
  w.kubeadmVersion = kubeadm;
  w.storeMaterial({
    join: joinSecret(START_MS + 20 * HOUR),
    controlPlane: controlPlaneSecret(START_MS + HOUR),
  });
  w.record = {
    ...initializedRecord({
      updatedAt: iso(START_MS - HOUR),
      tokenExpiresAt: iso(START_MS + 20 * HOUR),
      certificateKeyExpiresAt: iso(START_MS + HOUR),
      versions: { join: 'join-v1', controlPlane: 'cp-v1' },
    }),
    upgrade: sampleUpgrade(upgrade),
  };
  // One recorded before members carried versions (so at the old one), one old, one new.
  w.members.push(member('i-old1'), member('i-old2', 'v1.31.2'), member('i-new1', 'v1.32.9'));
  return w;
}

/** The control plane's last old members are replaced on the `reads`th read of the state. */
function replaceControlPlaneAt(w: BootWorld, reads: number): void {
  w.onReadClusterState = (n) => {
    if (n !== reads) return;
    w.members.splice(0, w.members.length, member('i-new1', 'v1.32.9'), member('i-new2', 'v1.32.9'));
  };
}

describe('join-node while an upgrade is recorded', () => {
  it('a worker at the old version joins with the usual reads (no member read)', async () => {
    const w = world('worker', 'v1.31.2');
    const run = await w.run(joinNodeFlow);
    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(w.recordReads, 1);
    assert.equal(w.clusterStateReads, 0);
    assert.deepEqual(w.secretReads, ['join:join-v1']);
  });

  it('a worker at the target waits, saying why, until every control-plane member runs it; then reads the join material again', async () => {
    const w = world('worker', 'v1.32.9');
    const { logger, lines } = captureLogger();
    w.logger = logger;
    replaceControlPlaneAt(w, 4);
    const run = await w.run(joinNodeFlow);

    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(w.clusterStateReads, 4, 'one read at once, then one per poll');
    assert.ok(w.clock.nowMs() - START_MS >= 3 * 750, 'it slept between polls');
    assert.deepEqual(
      w.secretReads,
      ['join:join-v1', 'join:join-v1'],
      'the material read again after the wait',
    );
    assert.deepEqual(w.commands(), ['version', 'join']);
    const waiting = lines.filter((line) =>
      /waits until every control-plane member runs 1\.32/.test(line.msg),
    );
    assert.ok(waiting.length >= 1, JSON.stringify(lines.map((line) => line.msg)));
    assert.match(waiting[0]?.msg ?? '', /\(2 of 3 still run an older API server\); waiting$/);
    assert.ok(lines.some((line) => /every control-plane member runs this version; joining/.test(line.msg)));
  });

  it('a worker at the target whose first read finds every member at the target joins without waiting', async () => {
    const w = world('worker', 'v1.32.9');
    replaceControlPlaneAt(w, 1);
    const run = await w.run(joinNodeFlow);
    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(w.clusterStateReads, 1);
    assert.equal(w.clock.nowMs(), START_MS, 'no sleep');
    assert.deepEqual(w.secretReads, ['join:join-v1'], 'no second read of the material');
  });

  it('a waiting worker joins when the roll finishes (phase done, record at the target)', async () => {
    const w = world('worker', 'v1.32.9');
    w.onReadClusterState = (n) => {
      if (n === 2 && w.record?.upgrade !== undefined)
        w.record = {
          ...w.record,
          kubernetesVersion: '1.32.9',
          upgrade: { ...w.record.upgrade, phase: 'done' },
        };
    };
    const run = await w.run(joinNodeFlow);
    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(w.clusterStateReads, 2);
  });

  for (const phase of ['addons', 'workers'] as const) {
    it(`a worker at the target joins at once in phase ${phase}, without reading the members`, async () => {
      const w = world('worker', 'v1.32.9', { phase });
      const run = await w.run(joinNodeFlow);
      assert.equal(run.result.outcome, 'joined-worker');
      assert.equal(w.clusterStateReads, 0);
      assert.equal(w.recordReads, 1);
    });
  }

  it('gives up at the wait timeout (exit 6 class: cluster timeout), having changed nothing', async () => {
    const w = world('worker', 'v1.32.9');
    const stopped = await w.stopped(joinNodeFlow);
    assert.equal(stopped.failure.step, 'version-skew');
    assert.equal(stopped.failure.error.exitCode, ExitCode.clusterTimeout);
    assert.match(
      stopped.failure.error.message,
      /waited 15m to join cluster "prod": the cluster is being upgraded/,
    );
    assert.ok(w.clock.nowMs() - START_MS >= 15 * MINUTE);
    assert.deepEqual(w.commands(), ['version']);
    assert.deepEqual(w.fs.paths(), []);
  });

  it('SIGTERM while waiting: stops at once, nothing written, nothing lost', async () => {
    const w = world('worker', 'v1.32.9');
    w.onReadClusterState = (n) => {
      if (n === 3) w.interrupt.abort();
    };
    const before = structuredClone(w.record);
    const stopped = await w.stopped(joinNodeFlow);
    assert.equal(stopped.failure.step, 'version-skew');
    assert.equal(stopped.failure.cause, 'interrupted');
    assert.ok(stopped.failure.error instanceof InterruptedError);
    assert.deepEqual(w.commands(), ['version'], 'no kubeadm join, no reset');
    assert.deepEqual(w.fs.paths(), [], 'no config, no membership file');
    assert.deepEqual(w.record, before, 'the record as it was');
    assert.deepEqual(w.events, ['kubeadm:version'], 'no AWS write');
  });

  it('a worker neither at the old version nor at the target is refused (exit 9)', async () => {
    const w = world('worker', 'v1.33.0');
    const stopped = await w.stopped(joinNodeFlow);
    assert.ok(stopped.failure.error instanceof IncompatibleError);
    assert.equal(stopped.failure.error.exitCode, ExitCode.incompatible);
    assert.match(
      stopped.failure.error.message,
      /cannot join cluster "prod" as a worker: the cluster is being upgraded from v1\.31\.2 to v1\.32\.9: a worker must run kubeadm 1\.31 or 1\.32/,
    );
    assert.equal(w.clusterStateReads, 0);
  });

  it('--dry-run of a worker that would wait plans the join without waiting', async () => {
    const w = world('worker', 'v1.32.9');
    const run = await w.run(joinNodeFlow, true);
    assert.equal(run.result.outcome, 'planned');
    assert.equal(w.clusterStateReads, 1);
    assert.equal(w.clock.nowMs(), START_MS);
  });
});

describe('join-master while an upgrade is recorded', () => {
  it('a control plane at the target joins and records its version', async () => {
    const w = world('control-plane', 'v1.32.9');
    const run = await w.run(joinMasterFlow);
    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(w.clusterStateReads, 0, 'a control plane never waits');
    assert.equal(w.members.at(-1)?.kubernetesVersion, 'v1.32.9');
  });

  it('a control plane at the old version is refused before the lease (exit 9), with what to launch instead', async () => {
    const w = world('control-plane', 'v1.31.2');
    const stopped = await w.stopped(joinMasterFlow);
    assert.equal(stopped.failure.step, 'kubeadm-version');
    assert.equal(stopped.failure.error.exitCode, ExitCode.incompatible);
    assert.match(
      stopped.failure.error.message,
      /cannot join cluster "prod" as a control-plane member: .*must run kubeadm 1\.32, this one runs v1\.31\.2/,
    );
    assert.match((stopped.failure.error as IncompatibleError).hint ?? '', /target AMI \(kubeadm 1\.32\.9/);
    assert.deepEqual(w.commands(), ['version']);
    assert.equal(w.lock('control-plane-join').record, undefined, 'the lease was never taken');
    assert.equal(w.members.length, 3, 'no member recorded');
    assert.equal(w.record?.lastFailure?.step, 'kubeadm-version', "the refusal is the record's lastFailure");
    assert.match(w.record?.lastFailure?.message ?? '', /must run kubeadm 1\.32/);
  });

  it('outside an upgrade the skew check is as before: a newer control plane is refused', async () => {
    const w = world('control-plane', 'v1.32.9');
    if (w.record !== undefined) {
      const { upgrade: _upgrade, ...steady } = w.record;
      w.record = steady;
    }
    const stopped = await w.stopped(joinMasterFlow);
    assert.match(stopped.failure.error.message, /kubeadm v1\.32\.9 is newer than Kubernetes v1\.31\.2/);
    assert.equal(w.clusterStateReads, 0);
  });
});
