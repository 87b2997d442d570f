/**
 * The upgrade roll over fake ports (roll-world.ts): the order (cluster configuration, each
 * control-plane instance surged before its removal with a gate on each side, addons, workers,
 * finish), never below the control plane's size, a rerun after a stop that replaces nothing
 * twice, and a failed gate that stops the roll with nothing further replaced and `stopped`
 * recorded.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../../../src/core/clock.js';
import { ClusterTimeoutError, InterruptedError, StateConflictError } from '../../../../src/core/errors.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { RunSettings } from '../../../../src/domain/steps/step.js';
import { rollFlow } from '../../../../src/domain/upgrade/roll-flow.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { NEW_AMI, RollWorld } from './roll-world.js';

function settings(signal = new AbortController().signal, dryRun = false): RunSettings {
  return {
    logger: silentLogger(),
    clock: systemClock,
    signal,
    dryRun,
    undoBudgetMs: 1_000,
    stopGraceMs: 1_000,
  };
}

async function roll(world: RollWorld, signal?: AbortSignal) {
  const input = world.input();
  return runFlow(rollFlow(input), world.deps(), settings(signal));
}

/** The log without repeated gate polls. */
function actions(world: RollWorld): string[] {
  return world.log.map((line) =>
    line.replace(/ready=i?p?.*$/, (m) => (m === 'ready=' ? 'ready=none' : 'ready=new')),
  );
}

describe('the upgrade roll', () => {
  it('replaces the control plane one at a time, surge before removal, then addons, then the workers', async () => {
    const world = new RollWorld(3, 2);
    const [c1, c2, c3, w1, w2] = world.instances.map((i) => i.instanceId);
    const run = await roll(world);
    assert.deepEqual(actions(world), [
      'launch-templates',
      'cluster-configuration 1.32.0',
      'surge prod-control-plane → i-000000006',
      'gate cp=4 ready=new',
      `terminate ${c1} (decrement)`,
      'gate cp=3 ready=none',
      'surge prod-control-plane → i-000000007',
      'gate cp=4 ready=new',
      `terminate ${c2} (decrement)`,
      'gate cp=3 ready=none',
      'surge prod-control-plane → i-000000008',
      'gate cp=4 ready=new',
      `terminate ${c3} (decrement)`,
      'gate cp=3 ready=none',
      'addons 1.32.0',
      `terminate ${w1}`,
      'gate cp=3 ready=new',
      `terminate ${w2}`,
      'gate cp=3 ready=new',
      'gate cp=3 ready=new',
      'finish',
    ]);
    assert.equal(world.minControlPlane, 3, 'the control plane never went below its size');
    assert.equal(world.version, '1.32.0');
    assert.equal(world.upgrade?.phase, 'done');
    assert.deepEqual(
      world.upgrade?.done.map((d) => [d.instanceId, d.role, d.replacedBy]),
      [
        [c1, 'control-plane', 'i-000000006'],
        [c2, 'control-plane', 'i-000000007'],
        [c3, 'control-plane', 'i-000000008'],
        [w1, 'worker', 'i-000000009'],
        [w2, 'worker', 'i-000000010'],
      ],
    );
    assert.equal(world.upgrade?.total, 5);
    assert.ok(world.instances.every((i) => i.imageId === NEW_AMI));
    assert.equal(run.result.done, 5);
  });

  it('resumes after a stop without replacing anything twice', async () => {
    const world = new RollWorld(3, 1);
    const stop = new AbortController();
    world.afterWrite = (upgrade) => {
      if (upgrade.done.length === 1) stop.abort(new InterruptedError('SIGTERM'));
    };
    await assert.rejects(roll(world, stop.signal), (error: unknown) => {
      assert.ok(error instanceof FlowStopped);
      assert.ok(error.failure.error instanceof InterruptedError);
      return true;
    });
    assert.equal(world.upgrade?.done.length, 1);
    assert.match(world.upgrade?.stopped?.reason ?? '', /interrupted/);
    assert.equal(world.lock.record?.owner, undefined, 'the upgrade lease was released');

    world.afterWrite = () => {};
    const second = world.input();
    assert.equal(second.resumed, true);
    assert.equal(second.upgrade.stopped, undefined, 'a rerun clears stopped');
    await runFlow(rollFlow(second), world.deps(), settings());
    const surges = world.log.filter((line) => line.startsWith('surge'));
    const terminated = world.log.filter((line) => line.startsWith('terminate')).map((l) => l.split(' ')[1]);
    assert.equal(surges.length, 3, 'one surge per control-plane instance');
    assert.deepEqual(terminated, [...new Set(terminated)], 'nothing terminated twice');
    assert.equal(world.upgrade?.done.length, 4);
    assert.equal(world.upgrade?.phase, 'done');
  });

  it('goes on with an instance a killed run surged, without surging again', async () => {
    const world = new RollWorld(3, 0);
    const first = world.instances[0]?.instanceId;
    // A run killed right after its surge: the group launches the target; no done entry names it.
    world.groupImage.set('prod-control-plane', NEW_AMI);
    world.launch('prod-control-plane', 'control-plane', NEW_AMI);
    await roll(world);
    assert.equal(world.log.filter((line) => line.startsWith('surge')).length, 2);
    assert.equal(world.upgrade?.done[0]?.instanceId, first);
    assert.equal(world.upgrade?.done[0]?.replacedBy, 'i-000000004');
    assert.equal(world.minControlPlane, 3);
  });

  it('stops at a failed gate: nothing further replaced, stopped recorded', async () => {
    const world = new RollWorld(3, 2);
    world.gateProblems = (expect) =>
      expect.readyNodes.length > 0 ? [`node ${expect.readyNodes[0]}: Ready is False`] : [];
    await assert.rejects(roll(world), (error: unknown) => {
      assert.ok(error instanceof FlowStopped);
      assert.ok(error.failure.error instanceof ClusterTimeoutError);
      assert.match(error.failure.error.message, /health gate after i-\w+ joined.*Ready is False/);
      return true;
    });
    assert.equal(
      world.log.filter((line) => line.startsWith('terminate')).length,
      0,
      'no old instance removed',
    );
    assert.equal(world.log.filter((line) => line.startsWith('surge')).length, 1);
    assert.equal(world.log.includes('addons 1.32.0'), false);
    assert.match(world.upgrade?.stopped?.step ?? '', /^replace-control-plane-i-/);
    assert.match(world.upgrade?.stopped?.reason ?? '', /Ready is False/);
    assert.equal(world.version, '1.31.2');
  });

  it('terminates nothing once its lease was taken over', async () => {
    const world = new RollWorld(3, 0);
    world.gateProblems = (expect) => {
      // Another run takes the lease over while the first new member is being checked.
      if (expect.readyNodes.length > 0 && world.lock.record !== undefined)
        world.lock.record = {
          ...world.lock.record,
          owner: 'thief@elsewhere',
          fence: world.lock.record.fence + 1,
        };
      return [];
    };
    await assert.rejects(roll(world), (error: unknown) => {
      assert.ok(error instanceof FlowStopped);
      assert.ok(error.failure.error instanceof StateConflictError);
      return true;
    });
    assert.equal(world.log.filter((line) => line.startsWith('terminate')).length, 0);
    assert.equal(world.upgrade?.done.length, 0);
  });

  it('plans every step in a dry run and changes nothing', async () => {
    const world = new RollWorld(1, 1);
    const run = await runFlow(rollFlow(world.input()), world.deps(), settings(undefined, true));
    assert.deepEqual(
      run.planned.map((p) => p.step),
      [
        'upgrade-lease',
        'record-upgrade',
        'launch-templates',
        'cluster-configuration',
        `replace-control-plane-${world.instances[0]?.instanceId}`,
        'addons',
        'replace-workers-workers-apps-1',
        'finish',
      ],
    );
    assert.deepEqual(world.log, []);
    assert.equal(world.upgrade, undefined);
  });
});
