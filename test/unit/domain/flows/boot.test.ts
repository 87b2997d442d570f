/**
 * `kboot boot` over fake ports (fake-deps.ts): a worker joins as a node; a control-plane instance
 * bootstraps a new cluster and stops there, or, finding it initialized, joins as a master, the two
 * flows reported as one run on one timeline.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBoot } from '../../../../src/domain/flows/boot.js';
import type { FlowDeps } from '../../../../src/domain/flows/deps.js';
import { captureLogger } from '../state/capture-logger.js';
import {
  BootWorld,
  controlPlaneSecret,
  HOUR,
  initializedRecord,
  iso,
  joinSecret,
  START_MS,
  stepOutcomes,
} from './fake-deps.js';

const VERSION_MS = 1000;

/** The world's ports, with `kubeadm version` taking a second of clock time (so flows take time). */
function slowVersionDeps(w: BootWorld): FlowDeps {
  const deps = w.deps();
  const kubeadm = deps.kubeadm;
  return {
    ...deps,
    kubeadm: {
      ...kubeadm,
      run: async (args, options) => {
        if (args[0] === 'version') await w.clock.sleepMs(VERSION_MS);
        return kubeadm.run(args, options);
      },
    },
  };
}

function initializedWorld(role: 'worker' | 'control-plane'): BootWorld {
  const w = new BootWorld();
  w.role = role;
  w.storeMaterial({
    join: joinSecret(START_MS + 20 * HOUR),
    controlPlane: controlPlaneSecret(START_MS + HOUR),
  });
  w.record = initializedRecord({
    updatedAt: iso(START_MS - HOUR),
    tokenExpiresAt: iso(START_MS + 20 * HOUR),
    certificateKeyExpiresAt: iso(START_MS + HOUR),
    versions: { join: 'join-v1', controlPlane: 'cp-v1' },
  });
  return w;
}

describe('kboot boot', () => {
  it('a worker joins as a node, reported as boot', async () => {
    const w = initializedWorld('worker');
    const run = await w.clock.run(runBoot(w.deps(), w.settings(false)));
    assert.equal(run.result.flow, 'boot');
    assert.equal(run.result.outcome, 'joined-worker');
    assert.ok(w.events.includes('kubeadm:join'));
    assert.equal(w.events.includes('kubeadm:init'), false);
  });

  it('a control-plane instance bootstraps a new cluster and runs no join', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const run = await w.clock.run(runBoot(w.deps(), w.settings(false)));
    assert.equal(run.result.flow, 'boot');
    assert.equal(run.result.outcome, 'initialized');
    assert.equal(w.events.includes('kubeadm:join'), false);
    assert.equal(stepOutcomes(run).at(-1), 'member-record:done');
  });

  it('a control-plane instance that finds the cluster initialized joins as a master, on one timeline', async () => {
    const w = initializedWorld('control-plane');
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const startedAtMs = w.clock.nowMs();
    const run = await w.clock.run(runBoot(slowVersionDeps(w), w.settings(false)));
    assert.equal(run.result.flow, 'boot');
    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(w.events.includes('kubeadm:init'), false);
    assert.ok(w.events.includes('kubeadm:join'));
    assert.equal(run.startedAtMs, startedAtMs);
    // bootstrap-master ends at the record (1 s of kubeadm version); join-master's steps follow
    // from there, its own kubeadm version taking the next second.
    assert.deepEqual(
      run.timings.map((t) => [t.step, t.atMs, t.outcome]),
      [
        ['identity', 0, 'done'],
        ['leftover-configs', 0, 'done'],
        ['membership', 0, 'done'],
        ['kubeadm-version', 0, 'done'],
        ['cluster-record', 1000, 'ended'],
        ['identity', 1000, 'done'],
        ['leftover-configs', 1000, 'done'],
        ['membership', 1000, 'done'],
        ['wait-initialized', 1000, 'done'],
        ['kubeadm-version', 1000, 'done'],
        ['node-name', 2000, 'done'],
        ['control-plane-join-lease', 2000, 'done'],
        ['join-material', 2000, 'done'],
        ['write-join-config', 2000, 'done'],
        ['reset-partial-join', 2000, 'skipped'],
        ['cleanup-lost-members', 2000, 'done'],
        ['hardening-files', 2000, 'done'],
        ['kubeadm-join', 2000, 'done'],
        ['membership-file', 2000, 'done'],
        ['member-record', 2000, 'done'],
      ],
    );
    assert.deepEqual(run.milestones, [{ milestone: 'initialized-seen', atMs: 1000 }]);
    assert.ok(lines.some((l) => l.msg === 'the cluster is initialized; joining as a control-plane member'));
    assert.deepEqual(run.planned, []);
  });

  it('--dry-run on an initialized cluster plans both flows and changes nothing', async () => {
    const w = initializedWorld('control-plane');
    const run = await w.clock.run(runBoot(w.deps(true), w.settings(true)));
    assert.equal(run.result.flow, 'boot');
    assert.deepEqual(
      run.planned.map((p) => p.step),
      [
        'leftover-configs',
        'leftover-configs',
        'control-plane-join-lease',
        'join-material',
        'write-join-config',
        'cleanup-lost-members',
        'hardening-files',
        'kubeadm-join',
        'membership-file',
        'member-record',
      ],
    );
    for (const change of ['kubeadm:init', 'kubeadm:join', 'publish'])
      assert.equal(w.events.includes(change), false, change);
  });
});
