/**
 * The steps every boot flow starts with, over fake ports: an instance tagged for another role is
 * refused with the command it should run, and the kubeadm configs a killed run left (they hold a
 * bootstrap token) are removed, and nothing else.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IncompatibleError } from '../../../../src/core/errors.js';
import { bootstrapMasterFlow } from '../../../../src/domain/flows/bootstrap-master.js';
import { joinNodeFlow } from '../../../../src/domain/flows/join-node.js';
import {
  ALREADY_MEMBER,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
} from '../../../../src/domain/flows/start-steps.js';
import { captureLogger } from '../state/capture-logger.js';
import { BootWorld } from './fake-deps.js';

const DIR = '/var/lib/kboot/kubeadm';

describe('identity step', () => {
  it("refuses a worker bootstrap-master, naming the worker's command", async () => {
    const w = new BootWorld();
    w.role = 'worker';
    const stopped = await w.stopped(bootstrapMasterFlow);
    assert.equal(stopped.failure.step, 'identity');
    assert.ok(stopped.failure.error instanceof IncompatibleError);
    assert.equal(
      stopped.failure.error.message,
      "this instance is tagged worker, so it cannot run 'kboot bootstrap-master'",
    );
    assert.equal(
      stopped.failure.error.hint,
      "run 'kboot join-node' (or 'kboot boot', which picks the flow from the role tag)",
    );
    assert.deepEqual(w.events, []);
  });

  it('refuses a control-plane join-node, naming the control-plane commands', async () => {
    const w = new BootWorld();
    w.role = 'control-plane';
    const stopped = await w.stopped(joinNodeFlow);
    assert.ok(stopped.failure.error instanceof IncompatibleError);
    assert.equal(
      stopped.failure.error.message,
      "this instance is tagged control-plane, so it cannot run 'kboot join-node'",
    );
    assert.equal(
      stopped.failure.error.hint,
      "run 'kboot join-master' or 'kboot bootstrap-master' (or 'kboot boot')",
    );
  });
});

describe('leftover-configs step', () => {
  /** The step alone: it reads only the filesystem and the logger of its context. */
  async function runStep(w: BootWorld, logger: BootWorld['logger']): Promise<void> {
    const context = { deps: { ...w.deps(), logger }, logger } as unknown as Parameters<
      ReturnType<typeof leftoverConfigsStep>['run']
    >[0];
    await leftoverConfigsStep().run(context);
  }

  it('removes the init and join configs and their temp files a killed run left, and nothing else', async () => {
    const w = new BootWorld();
    const { logger, lines } = captureLogger();
    const left = ['init.yaml', 'join.yaml', 'init.yaml.4242.tmp', 'join.yaml.7.tmp'];
    const kept = ['rotate.yaml', 'join.yaml.bak', 'init.yaml.tmpx', 'other.tmp', 'xinit.yaml'];
    for (const name of [...left, ...kept])
      await w.fs.writePrivateFile(`${DIR}/${name}`, 'token: abcdef.0123456789abcdef');
    await runStep(w, logger);
    assert.deepEqual((await w.fs.list(DIR)).sort(), [...kept].sort());
    const removed = lines.find((l) => l.msg === 'removed kubeadm configs an earlier, killed run left');
    assert.deepEqual((removed?.files as string[] | undefined)?.sort(), [...left].sort());
  });

  it('logs nothing when there is nothing to remove', async () => {
    const w = new BootWorld();
    const { logger, lines } = captureLogger();
    await w.fs.writePrivateFile(`${DIR}/rotate.yaml`, 'x');
    await runStep(w, logger);
    assert.deepEqual(lines, []);
  });

  it('says what it would remove in a dry run', () => {
    assert.equal(
      leftoverConfigsStep().describe?.(undefined as never, undefined as never),
      `remove kubeadm configs an earlier, killed run left in ${DIR} (they hold a bootstrap token), if any`,
    );
  });
});

describe('the start steps in a plan', () => {
  it('read, and say what they read', () => {
    const none = undefined as never;
    const identity = identityStep('join-node', 'worker');
    const membership = membershipStep();
    assert.deepEqual(
      [identity, membership, leftoverConfigsStep()].map((step) => [step.name, step.kind]),
      [
        ['identity', 'read'],
        ['membership', 'read'],
        ['leftover-configs', 'change'],
      ],
    );
    assert.equal(identity.describe?.(none, none), 'read who this instance is (IMDS: instance, region, tags)');
    assert.equal(
      membership.describe?.(none, none),
      'check whether this instance already joined (membership file and kubelet.conf)',
    );
    assert.equal(ALREADY_MEMBER, 'already a member of the cluster; nothing to do');
  });

  it('a joined worker ends at the membership step, logging when it joined', async () => {
    const w = new BootWorld();
    w.role = 'worker';
    const { logger, lines } = captureLogger();
    w.logger = logger;
    await w.becomeMember('join');
    const run = await w.run(joinNodeFlow);
    assert.equal(run.result.outcome, 'already-member');
    assert.equal(run.result.summary, 'already a worker of cluster prod');
    const line = lines.find((l) => l.msg === ALREADY_MEMBER);
    assert.equal(typeof line?.joinedAt, 'string');
    assert.deepEqual(w.events, []);
  });
});

describe('a membership file from an init, with no cluster record', () => {
  it('counts as an unfinished init: warns, starts over and initializes', async () => {
    const w = new BootWorld();
    w.config = { apiEndpoint: 'api.prod.example.com' };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    await w.becomeMember('init');
    const run = await w.run(bootstrapMasterFlow);
    assert.equal(run.result.outcome, 'initialized');
    const warn = lines.find((l) =>
      l.msg.includes('is from an init that never marked the cluster initialized'),
    );
    assert.equal(warn?.initializedBy, null);
  });
});
