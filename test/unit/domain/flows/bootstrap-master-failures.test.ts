/**
 * How `kboot bootstrap-master` reports a failure (fake ports, fake-deps.ts): once it holds the
 * bootstrap lease, a failure of an unexpected class becomes kubeadm's exit code naming the step,
 * while AWS's, the cluster's and kubeadm's/kubectl's own failures keep their class (a script
 * retries AWS failures, not a broken node). Only a master that held the lease records the failure
 * in the cluster record, with its secrets redacted.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  ConfigError,
  ExitCode,
  IncompatibleError,
  type KbootError,
  KubeadmError,
  KubectlError,
  StateConflictError,
} from '../../../../src/core/errors.js';
import { bootstrapMasterFlow } from '../../../../src/domain/flows/bootstrap-master.js';
import { type FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { captureLogger } from '../state/capture-logger.js';
import { BootWorld, CLUSTER, SELF, START_MS } from './fake-deps.js';

const TOKEN = 'abcdef.0123456789abcdef';

function world(): BootWorld {
  const w = new BootWorld();
  w.config = { apiEndpoint: 'api.prod.example.com' };
  return w;
}

describe('kboot bootstrap-master: a failure under the bootstrap lease', () => {
  const ownClass: [string, () => KbootError, number][] = [
    ['AWS unavailable', () => new AwsUnavailableError('DynamoDB unreachable'), ExitCode.awsUnavailable],
    ['AWS denied', () => new AwsDeniedError('not authorized'), ExitCode.awsDenied],
    ['AWS throttled', () => new AwsThrottledError('slow down'), ExitCode.awsThrottled],
    ['a cluster timeout', () => new ClusterTimeoutError('API never answered'), ExitCode.clusterTimeout],
    ['kubectl', () => new KubectlError('kubectl apply exited 1'), ExitCode.kubectlFailed],
    ['kubeadm', () => new KubeadmError('kubeadm init exited 1'), ExitCode.kubeadmFailed],
    ['a state conflict', () => new StateConflictError('record changed'), ExitCode.stateConflict],
  ];
  for (const [what, error, exitCode] of ownClass) {
    it(`keeps the class and exit code of ${what}, and records the failure`, async () => {
      const w = world();
      const thrown = error();
      w.kubeadm.set('init', { fail: thrown });
      const stopped = await w.stopped(bootstrapMasterFlow);
      assert.equal(stopped.failure.step, 'kubeadm-init');
      assert.equal(stopped.failure.error, thrown);
      assert.equal(stopped.failure.error.exitCode, exitCode);
      assert.equal(w.failures.length, 1);
      assert.equal(w.failures[0]?.message, thrown.message);
    });
  }

  it('turns any other failure into kubeadm exit 7 naming the cluster and step, keeping the cause', async () => {
    const w = world();
    const thrown = new IncompatibleError('kubelet too old');
    w.kubeadm.set('init', { fail: thrown });
    const stopped = await w.stopped(bootstrapMasterFlow);
    const { error } = stopped.failure;
    assert.ok(error instanceof KubeadmError);
    assert.equal(error.exitCode, ExitCode.kubeadmFailed);
    assert.equal(error.message, `bootstrapping cluster ${CLUSTER} failed at kubeadm-init: kubelet too old`);
    assert.equal(error.hint, 'kboot reset this node; run it again');
    assert.equal(error.cause, thrown);
  });

  it("keeps the hint of a failure it turns into kubeadm's exit code", async () => {
    const w = world();
    w.kubeadm.set('init', { fail: new ConfigError('bad kubelet flag', { hint: 'fix kubeletExtraArgs' }) });
    const stopped = await w.stopped(bootstrapMasterFlow);
    assert.ok(stopped.failure.error instanceof KubeadmError);
    assert.equal(stopped.failure.error.hint, 'fix kubeletExtraArgs');
  });

  it('records who failed, when, at which step, with secrets redacted', async () => {
    const w = world();
    w.kubeadm.set('init', { fail: new ConfigError(`could not use token ${TOKEN}`) });
    await w.stopped(bootstrapMasterFlow);
    assert.equal(w.failures.length, 1);
    const [failure] = w.failures;
    assert.equal(failure?.by, SELF);
    assert.equal(failure?.step, 'kubeadm-init');
    assert.ok(failure?.message.endsWith('kubeadm-init: could not use token [REDACTED]'), failure?.message);
    assert.ok(!failure?.message.includes(TOKEN), 'the token is redacted');
    const atMs = Date.parse(failure?.at ?? '');
    assert.ok(atMs >= START_MS && atMs <= w.clock.nowMs(), failure?.at);
    assert.equal(new Date(atMs).toISOString(), failure?.at);
  });
});

describe('kboot bootstrap-master: a failure before the bootstrap lease', () => {
  it('keeps the error as it is and records nothing in the cluster record', async () => {
    const w = world();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const thrown = new IncompatibleError('kubeadm v1.20 is not supported');
    w.kubeadm.set('version', { fail: thrown });
    const stopped = await w.stopped(bootstrapMasterFlow);
    assert.equal(stopped.failure.step, 'kubeadm-version');
    assert.equal(stopped.failure.error, thrown);
    assert.deepEqual(w.failures, []);
    assert.ok(
      !lines.some((l) => l.msg === 'could not record the failure in the cluster record'),
      'nothing was tried',
    );
  });
});

describe('kboot bootstrap-master: an addon the API server refuses', () => {
  it('records the addon that failed, not only the step', async () => {
    const w = world();
    await w.fs.writePrivateFile(
      '/etc/kboot/addons.d/10-team.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n',
    );
    const deps = w.deps();
    const kubectl = deps.kubectl;
    const refused = new KubectlError('kubectl apply exited 1: namespaces "team-a" is forbidden');
    const stopped = await w.clock
      .run(
        runFlow(
          bootstrapMasterFlow,
          {
            ...deps,
            kubectl: {
              run: async (args, options) => {
                if (args.includes('apply')) throw refused;
                return kubectl.run(args, options);
              },
            },
          },
          w.settings(false),
        ),
      )
      .then(
        () => assert.fail('bootstrap-master finished; the addon should have stopped it'),
        (error: unknown) => error as FlowStopped,
      );
    assert.equal(stopped.failure.step, 'addons');
    assert.ok(stopped.failure.error instanceof KubectlError, 'kubectl keeps its own exit code');
    assert.equal(stopped.failure.error.cause, refused);
    assert.deepEqual(
      w.failures.map((failure) => failure.step),
      ['addon addons.d/10-team.yaml'],
    );
  });
});

describe('kboot bootstrap-master: a failure after the addons were applied', () => {
  it('is recorded at its own step, not at the last addon', async () => {
    const w = world();
    await w.fs.writePrivateFile(
      '/etc/kboot/addons.d/10-team.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n',
    );
    const deps = w.deps();
    const kubectl = deps.kubectl;
    const store = w.store();
    await w.clock
      .run(
        runFlow(
          bootstrapMasterFlow,
          {
            ...deps,
            kubectl: {
              run: async (args, options) =>
                args.includes('apply')
                  ? { stdout: 'namespace/team-a serverside-applied\n', stderr: '' }
                  : kubectl.run(args, options),
            },
            joinMaterial: async () => ({
              ...store,
              publish: async () => {
                throw new AwsUnavailableError('Secrets Manager unreachable');
              },
            }),
          },
          w.settings(false),
        ),
      )
      .then(
        () => assert.fail('bootstrap-master finished; publishing should have stopped it'),
        (error: unknown) => error as FlowStopped,
      );
    assert.deepEqual(
      w.failures.map((failure) => failure.step),
      ['publish-join-material'],
    );
  });
});
