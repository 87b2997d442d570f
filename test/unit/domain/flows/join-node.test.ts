/**
 * `kboot join-node` as a flow over fake ports (fake-deps.ts): the reads a worker makes, what it
 * writes, and how it undoes a stopped join.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, InterruptedError, KubeadmError } from '../../../../src/core/errors.js';
import { joinNodeFlow } from '../../../../src/domain/flows/join-node.js';
import { JOIN_CONFIG_PATH, KUBELET_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import {
  assertResetsPartialJoin,
  BootWorld,
  CLUSTER,
  HOUR,
  initializedRecord,
  iso,
  joinSecret,
  NODE_NAME,
  START_MS,
  stepOutcomes,
} from './fake-deps.js';

const TOKEN = 'abcdef.0123456789abcdef';

/** A worker, and a cluster initialized with a fresh join secret the record names by version. */
function world(): BootWorld {
  const w = new BootWorld();
  w.role = 'worker';
  // An older version first: the record names the newer one, which is not AWSCURRENT.
  w.storeMaterial({ join: joinSecret(START_MS + 20 * HOUR, 'zzzzzz.zzzzzzzzzzzzzzzz') });
  w.storeMaterial({ join: joinSecret(START_MS + 20 * HOUR, TOKEN) });
  w.storeMaterial({ join: joinSecret(START_MS + 20 * HOUR, 'yyyyyy.yyyyyyyyyyyyyyyy') });
  w.record = initializedRecord({
    updatedAt: iso(START_MS - HOUR),
    tokenExpiresAt: iso(START_MS + 20 * HOUR),
    versions: { join: 'join-v2' },
  });
  return w;
}

describe('kboot join-node', () => {
  it('joins an initialized cluster with one record read and one secret read, by the version the record names', async () => {
    const w = world();
    const run = await w.run(joinNodeFlow);

    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(run.result.summary, `joined cluster ${CLUSTER} as worker ${NODE_NAME}`);
    assert.deepEqual(stepOutcomes(run), [
      'identity:done',
      'leftover-configs:done',
      'membership:done',
      'cluster-state:done',
      'version-skew:done',
      'node-name:done',
      'write-join-config:done',
      'reset-partial-join:skipped',
      'kubeadm-join:done',
      'membership-file:done',
    ]);
    assert.equal(w.recordReads, 1);
    assert.equal(w.clusterStateReads, 0, 'no upgrade recorded: no member read');
    assert.deepEqual(w.secretReads, ['join:join-v2']);
    assert.deepEqual(w.commands(), ['version', 'join']);
    assert.deepEqual(w.locks.size, 0, 'workers take no lease: they join in parallel');

    const join = w.kubeadmCalls.find((call) => call.args[0] === 'join');
    assert.equal(join?.config?.mode, 0o600);
    assert.match(join?.config?.text ?? '', new RegExp(TOKEN.replace('.', '\\.')));
    assert.match(join?.config?.text ?? '', /api\.prod\.example\.com:6443/);
    assert.ok(!join?.args.join(' ').includes(TOKEN), 'the token is never in kubeadm argv');
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined, 'the join config is removed');

    await w.assertMember('worker', 'join');
  });

  it('--dry-run plans the join with a redacted config and changes nothing (no kubeadm join)', async () => {
    const w = world();
    const run = await w.run(joinNodeFlow, true);

    assert.equal(run.result.outcome, 'planned');
    assert.deepEqual(
      run.planned.map((step) => step.step),
      ['leftover-configs', 'write-join-config', 'kubeadm-join', 'membership-file'],
    );
    const file = run.planned.find((step) => step.step === 'write-join-config')?.files?.[0];
    assert.equal(file?.path, JOIN_CONFIG_PATH);
    assert.ok(!file?.content.includes(TOKEN), 'the planned config is redacted');
    assert.deepEqual(w.commands(), ['version']);
    assert.deepEqual(w.fs.paths(), []);
  });

  it('ends at once when already a member: no AWS read, no kubeadm', async () => {
    const w = world();
    await w.becomeMember('join');
    const run = await w.run(joinNodeFlow);

    assert.equal(run.result.outcome, 'already-member');
    assert.equal(run.result.summary, `already a worker of cluster ${CLUSTER}`);
    assert.equal(w.stateCalls, 0);
    assert.equal(w.recordReads, 0);
    assert.deepEqual(w.secretReads, []);
    assert.deepEqual(w.commands(), []);
  });

  it('waits for the cluster to be initialized, polling the record', async () => {
    const w = world();
    const initialized = w.record;
    w.record = undefined;
    w.onReadRecord = (reads) => {
      if (reads === 3) w.record = initialized;
    };
    const run = await w.run(joinNodeFlow);

    assert.equal(run.result.outcome, 'joined-worker');
    assert.equal(w.recordReads, 3);
    assert.deepEqual(w.secretReads, ['join:join-v2']);
    assert.ok(run.milestones.some((milestone) => milestone.milestone === 'initialized-seen'));
  });

  it('resets the remains of an earlier, unfinished join (kubelet.conf, no membership file) before joining', async () => {
    await assertResetsPartialJoin(joinNodeFlow, world(), 'joined-worker');
  });

  it('removes kubeadm configs a killed run left, even when it then ends as a member', async () => {
    const w = world();
    await w.becomeMember('join');
    await w.fs.writePrivateFile(JOIN_CONFIG_PATH, `token: ${TOKEN}`);
    await w.fs.writePrivateFile(`${JOIN_CONFIG_PATH}.123.tmp`, `token: ${TOKEN}`);
    await w.run(joinNodeFlow);

    assert.deepEqual(await w.fs.list('/var/lib/kboot/kubeadm'), []);
  });

  it('undoes a failed kubeadm join: reset, join config removed, no membership file (exit 7)', async () => {
    const w = world();
    w.kubeadm.set('join', { fail: new KubeadmError('kubeadm join exited 1') });
    const stopped = await w.stopped(joinNodeFlow);

    assert.equal(stopped.failure.step, 'kubeadm-join');
    assert.equal(stopped.failure.error.exitCode, ExitCode.kubeadmFailed);
    assert.deepEqual(w.commands(), ['version', 'join', 'reset']);
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined);
    assert.equal(await w.membership(), undefined);
  });

  it('SIGTERM during kubeadm join: reset once, join config removed (exit 130)', async () => {
    const w = world();
    w.interruptDuring('join');
    const stopped = await w.stopped(joinNodeFlow);

    assert.equal(stopped.failure.step, 'kubeadm-join');
    assert.equal(stopped.failure.cause, 'interrupted');
    assert.ok(stopped.failure.error instanceof InterruptedError);
    assert.equal(stopped.failure.error.exitCode, ExitCode.interrupted);
    assert.deepEqual(w.commands(), ['version', 'join', 'reset']);
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined);
    assert.equal(await w.fs.exists(KUBELET_CONF_PATH), false);
    assert.equal(await w.membership(), undefined);
  });
});
