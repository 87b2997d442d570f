/**
 * kboot's main job, end to end: several instances boot at once against one moto, each with its
 * own IMDS server and filesystem root, the built binary, and the fake kubeadm sharing one
 * cluster directory. Exactly one init; control-plane joins one at a time; every worker joins
 * with the right endpoint, token and CA hash; nothing secret leaks.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { parse } from 'yaml';
import { caCertHash } from '../../../src/domain/kubeadm/ca-hash.js';
import { testSecrets } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { KubeadmInvocation } from '../../support/cluster-sim.js';
import { readKubectlLog } from '../../support/kubectl-log.js';

const ROUNDS = Number(process.env.KBOOT_BOOT_ROUNDS ?? 2);

function joins(invocations: KubeadmInvocation[]) {
  return invocations.filter((i) => i.command === 'join' && i.exitCode === 0);
}

interface JoinConfigDoc {
  kind: string;
  controlPlane?: { certificateKey?: string };
  nodeRegistration: { name: string };
  discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } };
}

function joinConfig(invocation: KubeadmInvocation): JoinConfigDoc | undefined {
  const docs = (invocation.config?.text ?? '').split(/^---$/m).map((d) => parse(d) as JoinConfigDoc | null);
  return docs.find((d) => d?.kind === 'JoinConfiguration') ?? undefined;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

describe('simulated cluster boot', () => {
  const boot = useBootSuite();
  const moto = boot.moto;

  for (let round = 1; round <= ROUNDS; round += 1) {
    it(`3 control-plane and 3 worker instances booting at once form one cluster (round ${round})`, async () => {
      const sim = await boot.cluster({
        name: `prod${round}`,
        env: { FAKE_KUBEADM_SLEEP_MS: 'init=1500,join=400' },
      });
      const masters = [
        await sim.addInstance('control-plane'),
        await sim.addInstance('control-plane'),
        await sim.addInstance('control-plane'),
      ];
      const workers = [
        await sim.addInstance('worker'),
        await sim.addInstance('worker'),
        await sim.addInstance('worker'),
      ];
      const results = await Promise.all([...masters, ...workers].map((instance) => sim.run(instance)));
      for (const [index, result] of results.entries()) {
        assert.equal(result.exitCode, 0, `instance ${index}: ${result.stderr.slice(-2000)}`);
      }
      const outcomes = results.map((result) => JSON.parse(result.stdout).outcome as string).sort();
      assert.deepEqual(outcomes, [
        'initialized',
        'joined-control-plane',
        'joined-control-plane',
        'joined-worker',
        'joined-worker',
        'joined-worker',
      ]);

      const invocations = sim.invocations();
      // kboot ran with AWS credentials in its environment; kubeadm and kubectl never see them.
      assert.ok(masters[0]?.env.AWS_SECRET_ACCESS_KEY, 'kboot had AWS credentials');
      const children = [...invocations, ...readKubectlLog(sim.kubectlLog)];
      assert.ok(
        children.some((i) => i.command === 'init'),
        'kubeadm init ran',
      );
      for (const child of children) {
        const names = child.envNames;
        assert.ok(names.includes('PATH'), `${child.command}: no PATH`);
        assert.deepEqual(
          names.filter((name) => name.startsWith('AWS_')),
          [],
          `${child.command} saw AWS variables`,
        );
      }
      const inits = invocations.filter((i) => i.command === 'init');
      assert.equal(inits.length, 1, 'exactly one kubeadm init');
      const init = inits[0] as KubeadmInvocation;
      const controlPlaneJoins = joins(invocations).filter((i) => joinConfig(i)?.controlPlane !== undefined);
      const workerJoins = joins(invocations).filter((i) => joinConfig(i)?.controlPlane === undefined);
      assert.equal(controlPlaneJoins.length, 2);
      assert.equal(workerJoins.length, 3);
      // Control-plane joins never overlap, and nothing joins before init finished.
      const [first, second] = [...controlPlaneJoins].sort((a, b) => a.startedAtMs - b.startedAtMs);
      assert.ok(first && second && first.endedAtMs <= second.startedAtMs, 'control-plane joins overlapped');
      for (const join of joins(invocations))
        assert.ok(join.startedAtMs >= init.endedAtMs, 'a join started before init ended');

      // Every join used the endpoint, token and CA hash that were published.
      const secrets = testSecrets(moto);
      const published = JSON.parse(
        (
          await secrets.send(
            new GetSecretValueCommand({ SecretId: `kboot/${sim.name}/join`, VersionStage: 'AWSCURRENT' }),
          )
        ).SecretString as string,
      );
      secrets.destroy();
      const initMaster = masters.find((m) => init.env.KBOOT_ROOT === m.root) as (typeof masters)[number];
      const caHash = caCertHash(
        readFileSync(path.join(initMaster.root, 'etc/kubernetes/pki/ca.crt')),
        'ca.crt',
      );
      assert.deepEqual(published.caCertHashes, [caHash]);
      assert.equal(published.apiEndpoint, `${sim.name}-api.elb.us-east-1.amazonaws.com:6443`);
      for (const join of joins(invocations)) {
        const config = joinConfig(join) as JoinConfigDoc;
        assert.equal(config.discovery.bootstrapToken.apiServerEndpoint, published.apiEndpoint);
        assert.equal(config.discovery.bootstrapToken.token, published.token);
        assert.deepEqual(config.discovery.bootstrapToken.caCertHashes, [caHash]);
        assert.ok(config.nodeRegistration.name.endsWith('.ec2.internal'));
      }

      // A hardened control plane by default: the init config turns profiling off and names the
      // audit policy, which every master (and no worker) has, 0600, before kubeadm runs.
      assert.match(init.config?.text ?? '', /name: profiling\n\s+value: "false"/);
      assert.match(init.config?.text ?? '', /audit-policy-file/);
      for (const master of masters) {
        const policy = path.join(master.root, 'etc/kubernetes/audit/policy.yaml');
        assert.equal(statSync(policy).mode & 0o777, 0o600, `${master.root}: audit policy mode`);
      }
      for (const worker of workers) {
        assert.equal(existsSync(path.join(worker.root, 'etc/kubernetes/audit/policy.yaml')), false);
      }

      // Secrets: never in a log line, in kubeadm's argv, or in a file others can read.
      const controlPlaneSecret = JSON.parse(
        (
          await testSecrets(moto).send(
            new GetSecretValueCommand({
              SecretId: `kboot/${sim.name}/control-plane`,
              VersionStage: 'AWSCURRENT',
            }),
          )
        ).SecretString as string,
      );
      // Encryption at rest: the key made at init is in the control-plane secret, and every master
      // wrote it (0600) before kubeadm ran.
      const encryptionKey = controlPlaneSecret.encryptionKey as string;
      assert.equal(Buffer.from(encryptionKey, 'base64').length, 32);
      for (const master of masters) {
        const file = path.join(master.root, 'etc/kubernetes/encryption/config.yaml');
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.ok(readFileSync(file, 'utf8').includes(`secret: ${encryptionKey}`), `${master.root}: key`);
      }
      assert.equal(existsSync(path.join(workers[0]?.root ?? '', 'etc/kubernetes/encryption')), false);
      const needles = [
        published.token as string,
        controlPlaneSecret.certificateKey as string,
        encryptionKey,
        'PRIVATE KEY',
      ];
      for (const result of results) {
        for (const needle of needles)
          assert.ok(!result.stderr.includes(needle), `a log line holds ${needle.slice(0, 6)}…`);
      }
      for (const invocation of invocations) {
        for (const needle of needles)
          assert.ok(!invocation.argv.join(' ').includes(needle), 'kubeadm argv holds a secret');
      }
      for (const instance of [...masters, ...workers]) {
        for (const file of filesUnder(instance.root)) {
          const text = readFileSync(file, 'utf8');
          if (
            needles.some((needle) => text.includes(needle)) ||
            /client-key-data|token:|secret:/.test(text)
          ) {
            const mode = statSync(file).mode & 0o777;
            assert.equal(
              mode & 0o077,
              0,
              `${path.relative(instance.root, file)} holds a secret with mode ${mode.toString(8)}`,
            );
          }
        }
      }
    });
  }
});
