/**
 * `kboot join-master` as a flow over fake ports (fake-deps.ts): it waits for the cluster, joins
 * under the control-plane-join lease with the material versions the record names, and undoes a
 * failed, stopped or fenced-out join.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, InterruptedError, KubeadmError, StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { joinMasterFlow } from '../../../../src/domain/flows/join-master.js';
import { JOIN_CONFIG_PATH } from '../../../../src/domain/flows/paths.js';
import {
  AUDIT_POLICY_PATH,
  ENCRYPTION_CONFIG_PATH,
  encryptionKeyFromConfig,
} from '../../../../src/domain/kubeadm/hardening.js';
import { captureLogger } from '../state/capture-logger.js';
import {
  assertResetsPartialJoin,
  BootWorld,
  CLUSTER,
  controlPlaneSecret,
  HOUR,
  initializedRecord,
  iso,
  joinSecret,
  MINUTE,
  NODE_NAME,
  SELF,
  START_MS,
  stepOutcomes,
} from './fake-deps.js';

const TOKEN = 'abcdef.0123456789abcdef';
const KEY = 'b'.repeat(64);

/** A master, and an initialized cluster whose record names the versions v2 (v3 is AWSCURRENT). */
function world(): BootWorld {
  const w = new BootWorld();
  w.storeMaterial({
    join: joinSecret(START_MS + 20 * HOUR, 'zzzzzz.zzzzzzzzzzzzzzzz'),
    controlPlane: controlPlaneSecret(START_MS + HOUR, 'e'.repeat(64)),
  });
  w.storeMaterial({
    join: joinSecret(START_MS + 20 * HOUR, TOKEN),
    controlPlane: controlPlaneSecret(START_MS + HOUR, KEY),
  });
  w.storeMaterial({
    join: joinSecret(START_MS + 20 * HOUR, 'yyyyyy.yyyyyyyyyyyyyyyy'),
    controlPlane: controlPlaneSecret(START_MS + HOUR, 'f'.repeat(64)),
  });
  w.record = initializedRecord({
    updatedAt: iso(START_MS - HOUR),
    tokenExpiresAt: iso(START_MS + 20 * HOUR),
    certificateKeyExpiresAt: iso(START_MS + HOUR),
    versions: { join: 'join-v2', controlPlane: 'cp-v2' },
  });
  return w;
}

describe('kboot join-master', () => {
  it('writes the encryption config with the key from the control-plane secret, 0600, before kubeadm join', async () => {
    const w = world();
    const key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
    w.storeMaterial({
      join: joinSecret(START_MS + 20 * HOUR, TOKEN),
      controlPlane: { ...controlPlaneSecret(START_MS + HOUR, KEY), encryptionKey: new Secret(key) },
    });
    w.record = initializedRecord({
      updatedAt: iso(START_MS - HOUR),
      tokenExpiresAt: iso(START_MS + 20 * HOUR),
      certificateKeyExpiresAt: iso(START_MS + HOUR),
      versions: { join: 'join-v4', controlPlane: 'cp-v4' },
    });
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const run = await w.run(joinMasterFlow);
    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(w.fs.files.get(ENCRYPTION_CONFIG_PATH)?.mode, 0o600);
    assert.equal(encryptionKeyFromConfig((await w.fs.readText(ENCRYPTION_CONFIG_PATH)) ?? '')?.reveal(), key);
    assert.equal(w.fs.files.get(AUDIT_POLICY_PATH)?.mode, 0o600);
    assert.ok(!JSON.stringify(lines).includes(key), 'the key is not logged');
    assert.ok(!w.kubeadmCalls.some((call) => call.args.join(' ').includes(key)), 'the key is not in argv');
  });

  it('writes no encryption config for a cluster initialized without encryption at rest (no key), and says so', async () => {
    const w = world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const run = await w.run(joinMasterFlow);
    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(await w.fs.readText(ENCRYPTION_CONFIG_PATH), undefined);
    assert.equal(w.fs.files.get(AUDIT_POLICY_PATH)?.mode, 0o600);
    assert.ok(lines.some((line) => /initialized without encryption at rest/.test(line.msg)));
  });

  it('waits for initialized, joins under the control-plane-join lease with the recorded material versions', async () => {
    const w = world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const initialized = w.record;
    const { initialized: _, ...notYet } = initializedRecord();
    w.record = notYet;
    w.onReadRecord = (reads) => {
      if (reads === 3) w.record = initialized;
    };
    const run = await w.run(joinMasterFlow);

    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(run.result.summary, `joined cluster ${CLUSTER} as control-plane member ${NODE_NAME}`);
    assert.deepEqual(stepOutcomes(run), [
      'identity:done',
      'leftover-configs:done',
      'membership:done',
      'wait-initialized:done',
      'kubeadm-version:done',
      'node-name:done',
      'control-plane-join-lease:done',
      'join-material:done',
      'write-join-config:done',
      'reset-partial-join:skipped',
      'cleanup-lost-members:done',
      'hardening-files:done',
      'kubeadm-join:done',
      'membership-file:done',
      'member-record:done',
    ]);
    assert.equal(
      w.recordReads,
      3,
      'polled until initialized; the material is read by the versions of that read',
    );
    assert.deepEqual(w.secretReads, ['join:join-v2', 'control-plane:cp-v2']);
    assert.deepEqual(w.commands(), ['version', 'join']);

    const lock = w.lock('control-plane-join');
    assert.deepEqual(
      lock.calls.filter((call) => call !== 'renew'),
      ['tryAcquire', 'release'],
    );
    assert.equal(lock.record?.owner, undefined, 'the lease is released');
    assert.equal(w.locks.has('bootstrap'), false);

    const join = w.kubeadmCalls.find((call) => call.args[0] === 'join');
    assert.equal(join?.config?.mode, 0o600);
    assert.ok(join?.config?.text.includes(TOKEN));
    assert.ok(join?.config?.text.includes(KEY), 'the config carries the certificate key the record names');
    assert.ok(!join?.args.join(' ').includes(TOKEN));
    assert.ok(!join?.args.join(' ').includes(KEY));
    assert.ok(
      !JSON.stringify(lines).includes(TOKEN) && !JSON.stringify(lines).includes(KEY),
      'no secret in the log',
    );
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined, 'the join config is removed');

    await w.assertMember('control-plane', 'join');
    assert.equal(w.members.length, 1);
    const [member] = w.members;
    assert.equal(member?.role, 'control-plane');
    assert.equal(member?.fence, 1, 'the fence of the control-plane-join lease');
    assert.equal(member?.nodeName, NODE_NAME);
    assert.ok(member?.bootTimeline?.milestones['initialized-seen'] !== undefined);
    assert.equal(member?.kubernetesVersion, 'v1.31.2', "the local kubeadm's version");
  });

  it('waits for another master to give up the control-plane-join lease', async () => {
    const w = world();
    const lock = w.lock('control-plane-join');
    lock.record = {
      owner: 'i-other',
      expiresAtMs: START_MS + 3 * MINUTE,
      fence: 4,
      rvn: 'other',
      leaseMs: 3 * MINUTE,
      acquiredAtMs: START_MS,
    };
    lock.holderRenews = true;
    let tries = 0;
    const tryAcquire = lock.tryAcquire.bind(lock);
    lock.tryAcquire = async (request) => {
      tries += 1;
      // The other master finishes after a few polls and releases.
      if (tries === 3) lock.record = { fence: 4, releasedAtMs: w.clock.nowMs() };
      return tryAcquire(request);
    };
    const run = await w.run(joinMasterFlow);

    assert.equal(run.result.outcome, 'joined-control-plane');
    assert.equal(tries, 3);
    assert.equal(w.members[0]?.fence, 5);
    assert.deepEqual(w.commands(), ['version', 'join']);
  });

  it('--dry-run plans the join (material as recorded, redacted) and takes no lease, runs no kubeadm join', async () => {
    const w = world();
    const run = await w.run(joinMasterFlow, true);

    assert.equal(run.result.outcome, 'planned');
    assert.deepEqual(
      run.planned.map((step) => step.step),
      [
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
    const file = run.planned.find((step) => step.step === 'write-join-config')?.files?.[0];
    assert.equal(file?.path, JOIN_CONFIG_PATH);
    assert.ok(
      !file?.content.includes(TOKEN) && !file?.content.includes(KEY),
      'the planned config is redacted',
    );
    assert.deepEqual(w.secretReads.sort(), ['control-plane:cp-v2', 'join:join-v2']);
    assert.deepEqual(w.commands(), ['version']);
    assert.equal(w.lock('control-plane-join').calls.length, 0);
    assert.deepEqual(w.fs.paths(), []);
    assert.deepEqual(w.members, []);
  });

  it('ends at once when already a member: no AWS read, no lease, no kubeadm', async () => {
    const w = world();
    await w.becomeMember('join');
    const run = await w.run(joinMasterFlow);

    assert.equal(run.result.outcome, 'already-member');
    assert.equal(run.result.summary, `already a control-plane member of cluster ${CLUSTER}`);
    assert.equal(w.stateCalls, 0);
    assert.deepEqual(w.secretReads, []);
    assert.deepEqual(w.commands(), []);
    assert.equal(w.locks.size, 0);
  });

  it('resets the remains of an earlier, unfinished join under the lease, then joins', async () => {
    await assertResetsPartialJoin(joinMasterFlow, world(), 'joined-control-plane');
  });

  it('undoes a failed kubeadm join: one reset, join config removed, lease released (exit 7)', async () => {
    const w = world();
    w.kubeadm.set('join', { fail: new KubeadmError('kubeadm join exited 1') });
    const stopped = await w.stopped(joinMasterFlow);

    assert.equal(stopped.failure.step, 'kubeadm-join');
    assert.equal(stopped.failure.error.exitCode, ExitCode.kubeadmFailed);
    assert.deepEqual(w.commands(), ['version', 'join', 'reset']);
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined);
    assert.equal(await w.membership(), undefined);
    assert.deepEqual(w.members, []);
    const lock = w.lock('control-plane-join');
    assert.equal(lock.calls.at(-1), 'release');
    assert.equal(lock.record?.owner, undefined);
    // The cluster record's lastFailure says where, as bootstrap-master's does.
    assert.equal(w.failures.length, 1);
    assert.equal(w.record?.lastFailure?.step, 'kubeadm-join');
    assert.equal(w.record?.lastFailure?.by, SELF);
    assert.match(w.record?.lastFailure?.message ?? '', /kubeadm join exited 1/);
  });

  it('SIGTERM during kubeadm join: reset once, join config removed, lease released (exit 130)', async () => {
    const w = world();
    w.interruptDuring('join');
    const stopped = await w.stopped(joinMasterFlow);

    assert.equal(stopped.failure.cause, 'interrupted');
    assert.ok(stopped.failure.error instanceof InterruptedError);
    assert.deepEqual(w.commands(), ['version', 'join', 'reset']);
    assert.equal(await w.fs.readText(JOIN_CONFIG_PATH), undefined);
    assert.equal(w.lock('control-plane-join').record?.owner, undefined);
  });

  it('stops kubeadm join when the control-plane-join lease is lost, and resets (exit 8)', async () => {
    const w = world();
    // Another master takes the lock over during kubeadm join: this one's next renewal fails.
    w.loseLeaseDuring('join', 'control-plane-join');
    const stopped = await w.stopped(joinMasterFlow);

    assert.equal(stopped.failure.cause, 'lease-lost');
    assert.ok(stopped.failure.error instanceof StateConflictError);
    assert.deepEqual(w.commands(), ['version', 'join', 'reset']);
    assert.equal(await w.membership(), undefined);
    assert.deepEqual(w.members, []);
    assert.equal(w.lock('control-plane-join').record?.owner, 'i-other', 'the other master keeps its lease');
  });
});
