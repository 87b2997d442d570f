/**
 * `kboot bootstrap-master` as a flow over fake ports (fake-deps.ts): what it runs, in which
 * order, what it writes, and how it undoes a failed, stopped or fenced-out init.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsUnavailableError,
  ExitCode,
  InterruptedError,
  KubeadmError,
  StateConflictError,
} from '../../../../src/core/errors.js';
import { bootstrapMasterFlow } from '../../../../src/domain/flows/bootstrap-master.js';
import { INIT_CONFIG_PATH, KUBELET_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import {
  AUDIT_POLICY_PATH,
  ENCRYPTION_CONFIG_PATH,
  encryptionKeyFromConfig,
} from '../../../../src/domain/kubeadm/hardening.js';
import { PKI_DIR, PKI_FILES } from '../../../../src/domain/pki/bundle.js';
import { captureLogger } from '../state/capture-logger.js';
import { sampleRecord } from '../state/records.js';
import { BootWorld, CLUSTER, HOUR, MINUTE, NODE_NAME, SELF, START_MS, stepOutcomes } from './fake-deps.js';

const TOKEN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/;

function world(): BootWorld {
  const w = new BootWorld();
  w.config = { apiEndpoint: 'api.prod.example.com' };
  return w;
}

describe('kboot bootstrap-master', () => {
  it('initializes a new cluster: steps in order, record written and marked under the fence, material recorded by version', async () => {
    const w = world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const run = await w.run(bootstrapMasterFlow);

    assert.equal(run.result.outcome, 'initialized');
    assert.equal(run.result.summary, `initialized cluster ${CLUSTER} on ${NODE_NAME}`);
    assert.deepEqual(stepOutcomes(run), [
      'identity:done',
      'leftover-configs:done',
      'membership:done',
      'kubeadm-version:done',
      'cluster-record:done',
      'write-cluster-record:done',
      'version-skew:done',
      'init-inputs:done',
      'bootstrap-lease:done',
      'recheck-initialized:done',
      'write-init-config:done',
      'reset-partial-init:skipped',
      'hardening-files:done',
      'kubeadm-init:done',
      'node-client-auto-approval-off:done',
      'ca-cert-hash:done',
      'pki-secret:done',
      'irsa:skipped',
      'addons:skipped',
      'membership-file:done',
      'publish-join-material:done',
      'member-record:done',
    ]);
    assert.deepEqual(w.events, [
      'kubeadm:version',
      'put-record',
      'kubeadm:init',
      // kubeadm's auto-approval of node client certificates goes before the token is published.
      'kubectl:delete kubeadm:node-autoapprove-bootstrap',
      'write-pki',
      'publish',
      'mark-initialized',
      'record-member',
    ]);

    // kubeadm read a 0600 config holding the token; the token never reached its argv; the
    // config is gone afterwards.
    const init = w.kubeadmCalls.find((call) => call.args[0] === 'init');
    assert.equal(init?.config?.mode, 0o600);
    const token = TOKEN.exec(init?.config?.text ?? '')?.[0];
    assert.ok(token !== undefined, 'the init config holds the bootstrap token');
    const certificateKey = /certificateKey: "?([0-9a-f]{64})/.exec(init?.config?.text ?? '')?.[1];
    assert.ok(certificateKey !== undefined, 'the init config holds the certificate key');
    const argv = w.kubeadmCalls.map((call) => call.args.join(' ')).join('\n');
    const logged = JSON.stringify(lines);
    for (const secret of [token, certificateKey]) {
      assert.ok(!argv.includes(secret), 'no secret in kubeadm argv');
      assert.ok(!logged.includes(secret), 'no secret in the log');
    }
    assert.equal(await w.fs.readText(INIT_CONFIG_PATH), undefined);

    // The hardening files are written 0600 before kubeadm init and stay; the encryption key made
    // at init is in them and in the published control-plane secret, never in a log or argv.
    for (const file of [AUDIT_POLICY_PATH, ENCRYPTION_CONFIG_PATH]) {
      assert.equal(w.fs.files.get(file)?.mode, 0o600, file);
    }
    const encryptionKey = w.controlPlaneSecrets.versions.get('cp-v1')?.encryptionKey;
    assert.ok(encryptionKey !== undefined, 'the control-plane secret holds the encryption key');
    assert.equal(
      encryptionKeyFromConfig((await w.fs.readText(ENCRYPTION_CONFIG_PATH)) ?? '')?.reveal(),
      encryptionKey.reveal(),
    );
    assert.ok(!argv.includes(encryptionKey.reveal()) && !logged.includes(encryptionKey.reveal()));

    // The membership file says this instance initialized the cluster.
    await w.assertMember('control-plane', 'init');

    // The record: initialized by this instance under the bootstrap lease's fence, naming the
    // versions just published (and the published token is the one kubeadm was given).
    const lock = w.lock('bootstrap');
    assert.deepEqual(
      lock.calls.filter((call) => call !== 'renew'),
      ['tryAcquire', 'release'],
    );
    assert.equal(w.record?.initialized?.by, SELF);
    assert.equal(w.record?.initialized?.fence, 1);
    assert.deepEqual(w.record?.joinMaterial?.versions, {
      join: 'join-v1',
      controlPlane: 'cp-v1',
      adminConf: 'admin-v1',
      pki: 'pki-v1',
    });
    // The PKI secret holds every CA and the service-account keys kubeadm wrote; no key reached a log.
    const pki = w.pkiSecrets.versions.get('pki-v1');
    assert.deepEqual(Object.keys(pki?.files.reveal() ?? {}).sort(), [...PKI_FILES].sort());
    assert.equal(pki?.files.reveal()['ca.key'], await w.fs.readText(`${PKI_DIR}/ca.key`));
    assert.equal(pki?.savedBy, SELF);
    assert.ok(!logged.includes('PRIVATE KEY'), 'no private key in the log');
    assert.equal(w.joinSecrets.versions.get('join-v1')?.token.reveal(), token);
    assert.equal(w.record?.lastFailure, undefined);
    assert.equal(
      w.record?.kubernetesVersion,
      'v1.31.2',
      'the local kubeadm version, for a record this master wrote',
    );

    // The member record, with the boot timeline so far.
    assert.equal(w.members.length, 1);
    const [member] = w.members;
    assert.equal(member?.instanceId, SELF);
    assert.equal(member?.role, 'control-plane');
    assert.equal(member?.fence, 1);
    assert.equal(member?.nodeName, NODE_NAME);
    assert.equal(member?.bootTimeline?.launchToStartMs, MINUTE, 'launched a minute before kboot started');
    const milestones = member?.bootTimeline?.milestones ?? {};
    assert.equal(typeof milestones['kubeadm-start'], 'number');
    assert.ok(
      (milestones.joined ?? -1) >= (milestones['kubeadm-start'] ?? Number.POSITIVE_INFINITY),
      'the record says when the member joined, once kubeadm started',
    );
    assert.equal(member?.kubernetesVersion, 'v1.31.2', "the local kubeadm's version");
  });

  it('--dry-run plans every change step and changes nothing (no kubeadm init, no lease, no AWS write)', async () => {
    const w = world();
    const run = await w.run(bootstrapMasterFlow, true);

    assert.equal(run.result.outcome, 'planned');
    assert.equal(run.result.summary, 'dry run: nothing changed');
    assert.deepEqual(
      run.planned.map((step) => step.step),
      [
        'leftover-configs',
        'write-cluster-record',
        'bootstrap-lease',
        'recheck-initialized',
        'write-init-config',
        'hardening-files',
        'kubeadm-init',
        'node-client-auto-approval-off',
        'ca-cert-hash',
        'pki-secret',
        'membership-file',
        'publish-join-material',
        'member-record',
      ],
    );
    const initFile = run.planned.find((step) => step.step === 'write-init-config')?.files?.[0];
    assert.equal(initFile?.path, INIT_CONFIG_PATH);
    assert.doesNotMatch(initFile?.content ?? '', TOKEN);
    assert.deepEqual(w.commands(), ['version']);
    assert.deepEqual(w.events, ['kubeadm:version']);
    assert.deepEqual(w.fs.paths(), []);
    assert.equal(w.record, undefined);
    assert.equal(w.lock('bootstrap').calls.length, 0);
  });

  it('ends as already a member when this instance initialized the cluster (no kubeadm, no AWS write)', async () => {
    const w = world();
    w.record = sampleRecord({
      initialized: { by: SELF, at: new Date(START_MS - HOUR).toISOString(), fence: 1 },
    });
    await w.becomeMember('init');
    const before = structuredClone(w.record);
    const run = await w.run(bootstrapMasterFlow);

    assert.equal(run.result.outcome, 'already-member');
    assert.deepEqual(stepOutcomes(run), ['identity:done', 'leftover-configs:done', 'membership:ended']);
    assert.equal(w.recordReads, 1, 'one read confirms the init was this instance’s');
    assert.deepEqual(w.events, []);
    assert.deepEqual(w.record, before);
    assert.equal(w.lock('bootstrap').calls.length, 0);
  });

  it('treats a membership file from an init that never marked the cluster initialized as an unfinished init: reset, then init again', async () => {
    const w = world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    w.record = sampleRecord();
    await w.becomeMember('init');
    const run = await w.run(bootstrapMasterFlow);

    assert.ok(lines.some((line) => /from an init that never marked the cluster initialized/.test(line.msg)));

    assert.equal(run.result.outcome, 'initialized');
    assert.ok(stepOutcomes(run).includes('reset-partial-init:done'));
    assert.deepEqual(w.commands(), ['version', 'reset', 'init']);
    assert.equal(w.record?.initialized?.by, SELF);
    assert.ok(!w.events.includes('put-record'), 'the existing record is used');
    const membership = await w.membership();
    assert.equal(membership?.how, 'init');
    assert.equal(
      membership?.joinedAt,
      new Date(w.clock.nowMs()).toISOString(),
      'the stale file was replaced',
    );
  });

  it('a membership file naming this instance, on a cluster another master initialized, is stale too: ends already-initialized', async () => {
    const w = world();
    w.record = sampleRecord({
      initialized: { by: 'i-other', at: new Date(START_MS - HOUR).toISOString(), fence: 3 },
    });
    await w.becomeMember('init');
    const run = await w.run(bootstrapMasterFlow);

    assert.equal(run.result.outcome, 'already-initialized');
    assert.deepEqual(w.commands(), ['version']);
    assert.deepEqual(w.events, ['kubeadm:version']);
  });

  it('undoes a failed kubeadm init: reset, init config removed, lease released, failure recorded (exit 7)', async () => {
    const w = world();
    w.kubeadm.set('init', { fail: new KubeadmError('kubeadm init exited 1') });
    const stopped = await w.stopped(bootstrapMasterFlow);

    assert.equal(stopped.failure.step, 'kubeadm-init');
    assert.equal(stopped.failure.cause, 'failed');
    assert.ok(stopped.failure.error instanceof KubeadmError);
    assert.equal(stopped.failure.error.exitCode, ExitCode.kubeadmFailed);
    assert.deepEqual(w.commands(), ['version', 'init', 'reset']);
    assert.equal(await w.fs.readText(INIT_CONFIG_PATH), undefined);
    assert.equal(await w.fs.exists(KUBELET_CONF_PATH), false);
    assert.equal(await w.membership(), undefined);
    assert.equal(w.lock('bootstrap').calls.at(-1), 'release');
    assert.equal(w.lock('bootstrap').record?.owner, undefined, 'the lease is free');
    assert.equal(w.failures.length, 1);
    assert.equal(w.record?.lastFailure?.step, 'kubeadm-init');
    assert.equal(w.record?.lastFailure?.by, SELF);
    assert.equal(w.record?.initialized, undefined);
    assert.ok(!w.events.includes('publish'));
  });

  it('stops kubeadm init when the bootstrap lease is lost, resets, and publishes nothing (exit 8)', async () => {
    const w = world();
    const lock = w.lock('bootstrap');
    // Another master takes the lock over during kubeadm init: this one's next renewal fails.
    w.loseLeaseDuring('init', 'bootstrap');
    const stopped = await w.stopped(bootstrapMasterFlow);

    assert.equal(stopped.failure.step, 'kubeadm-init');
    assert.equal(stopped.failure.cause, 'lease-lost');
    assert.ok(stopped.failure.error instanceof StateConflictError);
    assert.equal(stopped.failure.error.exitCode, ExitCode.stateConflict);
    assert.deepEqual(w.commands(), ['version', 'init', 'reset']);
    assert.ok(!w.events.includes('publish'));
    assert.ok(!w.events.includes('mark-initialized'));
    assert.equal(w.record?.initialized, undefined);
    assert.equal(await w.fs.readText(INIT_CONFIG_PATH), undefined);
    assert.equal(lock.record?.owner, 'i-other', 'the other master keeps its lease');
  });

  it('SIGTERM during kubeadm init: reset once, init config removed, lease released (exit 130)', async () => {
    const w = world();
    w.interruptDuring('init');
    const stopped = await w.stopped(bootstrapMasterFlow);

    assert.equal(stopped.failure.cause, 'interrupted');
    assert.ok(stopped.failure.error instanceof InterruptedError);
    assert.deepEqual(w.commands(), ['version', 'init', 'reset']);
    assert.equal(await w.fs.readText(INIT_CONFIG_PATH), undefined);
    assert.equal(w.lock('bootstrap').record?.owner, undefined);
  });

  it('a failure after the PKI secret was written leaves its version unrecorded, so never read', async () => {
    for (const existed of [false, true]) {
      const w = world();
      if (existed) await w.pkiStore().write(CLUSTER, await earlierBundle(w), {});
      const store = w.store.bind(w);
      w.store = () => ({
        ...store(),
        publish: async () => {
          throw new AwsUnavailableError('Secrets Manager is unavailable');
        },
      });
      const stopped = await w.stopped(bootstrapMasterFlow);

      assert.equal(stopped.failure.step, 'publish-join-material');
      assert.ok(w.events.includes('write-pki'));
      assert.equal(w.pkiSecrets.versions.size, existed ? 2 : 1);
      assert.equal(w.record?.initialized, undefined);
      assert.equal(w.record?.joinMaterial, undefined, 'no PKI version recorded');
    }
  });
});

/** A bundle as an earlier init kept it. */
async function earlierBundle(w: BootWorld) {
  const { pkiBundle } = await import('../../../../src/domain/pki/bundle.js');
  const { testCaPem } = await import('./fake-deps.js');
  const files = Object.fromEntries(
    PKI_FILES.map((name) => [
      name,
      name.endsWith('.crt') ? testCaPem() : '-----BEGIN PRIVATE KEY-----\nold\n-----END PRIVATE KEY-----\n',
    ]),
  );
  return pkiBundle(files, { savedAt: new Date(w.clock.nowMs()).toISOString(), savedBy: 'i-earlier' });
}
