/**
 * The bootstrap lease taken over by another instance (owner and fence rewritten in DynamoDB, as a
 * contender that saw it expire would) while the first master is at each step that holds it:
 * the holder notices at its next renewal, stops the step (kubeadm init gets SIGTERM), resets the
 * node, records the failure and exits 8, never publishing join material or admin.conf.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { testSecrets } from '../../support/aws.js';
import { SimCluster } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import { type Moto, startMoto } from '../../support/moto.js';
import {
  BOOT_TIMEOUT_STOP_MS,
  kubeadmsRunning,
  liveInits,
  readItem,
  secretFilesLeft,
  sleep,
  stealLease,
  stopAtStep,
  why,
} from './harness.js';

const LEASE_MS = 6000;
const NODE_CONFIG = `apiEndpoint: api.example.com\ntimeouts: { lease: ${LEASE_MS / 1000}s, waitForInit: 60s }\n`;
const SLOW = '60000';
const THIEF = 'i-0thief000000000000';

/**
 * The steps that hold the lease. A step that waits (AWS, kubeadm, kubectl) is still running when
 * the holder notices; one that does not (write-init-config, ca-cert-hash, membership-file: a few
 * ms of local work) has finished by then, and the flow stops at a later step.
 */
const ORDER = [
  'recheck-initialized',
  'write-init-config',
  'reset-partial-init',
  'hardening-files',
  'kubeadm-init',
  'node-client-auto-approval-off',
  'ca-cert-hash',
  'pki-secret',
  'irsa',
  'addons',
  'membership-file',
  'publish-join-material',
  'member-record',
];
const STEPS: { step: string; env?: Record<string, string>; child?: string }[] = [
  { step: 'recheck-initialized' },
  { step: 'write-init-config', env: { FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}` } },
  { step: 'kubeadm-init', env: { FAKE_KUBEADM_SLEEP_MS: `init=${SLOW}` }, child: 'init --config' },
  // Slow kubectl for the addons, not for the removal of kubeadm's auto-approval before them.
  {
    step: 'ca-cert-hash',
    env: { FAKE_KUBECTL_SLEEP_MS: SLOW, FAKE_KUBECTL_SLEEP_ON: '^(?!.*clusterrolebinding)' },
  },
  { step: 'membership-file' },
];
const WAITS = new Set(['recheck-initialized', 'kubeadm-init']);

async function secretNames(moto: Moto, cluster: string): Promise<string[]> {
  const secrets = testSecrets(moto);
  try {
    const out = await secrets.send(new ListSecretsCommand({}));
    return (out.SecretList ?? [])
      .map((s) => s.Name ?? '')
      .filter((name) => name.startsWith(`kboot/${cluster}/`));
  } finally {
    secrets.destroy();
  }
}

describe('the bootstrap lease stolen at each step that holds it', { concurrency: 3 }, () => {
  let moto: Moto;
  const sims: SimCluster[] = [];
  const proxies: FaultProxy[] = [];
  const times: Record<string, number> = {};

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all([...sims.map((s) => s.stop()), ...proxies.map((p) => p.stop())]);
    await moto.stop();
    const rows = Object.entries(times).map(([step, ms]) => `${step} ${ms} ms`);
    process.stdout.write(`# lease stolen → exit (lease ${LEASE_MS} ms): ${rows.join(', ')}\n`);
  });

  async function stealAt(
    name: string,
    step: string,
    env: Record<string, string> | undefined,
    child?: string,
  ) {
    const sim = new SimCluster(moto, { name, nodeConfig: NODE_CONFIG });
    sims.push(sim);
    await sim.createTable();
    const proxy = await startFaultProxy(moto.endpoint);
    proxies.push(proxy);
    const master = await sim.addInstance('control-plane');
    const startedDir = path.join(sim.dir, 'started');
    const stopped = await stopAtStep(sim, master, {
      at: { flow: 'bootstrap-master', step },
      act: async () => {
        await stealLease(moto, name, 'bootstrap', THIEF, 10 * LEASE_MS);
        // A request of the step held here goes on only after the holder's next renewal (every
        // third of the lease) has seen the loss and stopped the step.
        await sleep(LEASE_MS / 2);
      },
      env: { ...env, FAKE_KUBEADM_STARTED_DIR: startedDir },
      proxy,
      ...(child === undefined ? {} : { child: { startedDir, command: child } }),
    });
    return { sim, master, stopped, startedDir };
  }

  for (const { step, env, child } of STEPS) {
    it(`at ${step}: stops, resets, records the failure, exits 8, publishes nothing`, async (t) => {
      const name = `stolen-${step}`;
      const { sim, master, stopped, startedDir } = await stealAt(name, step, env, child);
      const { result } = stopped;
      assert.ok(stopped.acted, why(result));
      assert.equal(result.exitCode, 8, why(result));
      assert.match(result.error?.msg ?? '', /lost the bootstrap lease of cluster/);
      assert.ok((stopped.actToExitMs as number) < BOOT_TIMEOUT_STOP_MS);
      times[step] = stopped.actToExitMs as number;
      t.diagnostic(`lease stolen → exit: ${stopped.actToExitMs} ms`);
      assert.deepEqual(kubeadmsRunning(startedDir), []);
      const mine = sim.invocations();
      if (child !== undefined) {
        assert.equal(mine.find((i) => i.argv.join(' ').startsWith(child))?.signal, 'SIGTERM');
      }
      const at = stopped.stoppedAt?.step ?? step;
      if (WAITS.has(step)) assert.equal(at, step, 'stopped inside the step');
      else assert.ok(ORDER.indexOf(at) >= ORDER.indexOf(step), `stopped at ${at}`);
      const resets = mine.filter((i) => i.command === 'reset' && i.exitCode === 0);
      const initStarted = ORDER.indexOf(at) >= ORDER.indexOf('kubeadm-init');
      assert.equal(resets.length, initStarted ? 1 : 0, `kubeadm reset once init started (stopped at ${at})`);
      assert.equal(liveInits(sim).length, 0);

      const lock = await readItem(moto, name, 'lock#bootstrap');
      assert.equal(lock?.owner, THIEF, 'the loser leaves the new holder alone');
      const record = await readItem(moto, name, 'meta');
      assert.equal(record?.initialized, undefined);
      const failure = record?.lastFailure as { step: string; by: string } | undefined;
      assert.equal(failure?.step, at, 'lastFailure names the step it stopped at');
      assert.equal(failure?.by, master.instanceId);
      assert.deepEqual(secretFilesLeft(master.root), []);
      // No reader ever takes the loser's join material or admin.conf. A step that does not wait
      // (here membership-file) can finish before the holder's next renewal sees the loss, and the
      // flow goes on to publish: its secret writes may add versions, but only the fenced
      // transaction names versions in the record, and readers take the versions the record names.
      assert.equal(record?.joinMaterial, undefined, "the record names none of the loser's secret versions");
      // The PKI secret is written after kubeadm init, before the publish step: its version too is
      // named only by the fenced transaction (joinMaterial.versions.pki, undefined above).
      const published = (await secretNames(moto, name)).filter(
        (n) => !n.endsWith('/node-leave') && !n.endsWith('/pki'),
      );
      const fencedOnly = at === 'publish-join-material' || at === 'member-record';
      if (!fencedOnly) assert.deepEqual(published, [], 'nothing published before the publish step');
    });
  }

  it('at publish-join-material, a write already on its way when the lease is taken is never what readers take (fenced)', async () => {
    const name = 'stolen-publish';
    const sim = new SimCluster(moto, { name, nodeConfig: NODE_CONFIG });
    sims.push(sim);
    await sim.createTable();
    const proxy = await startFaultProxy(moto.endpoint);
    proxies.push(proxy);
    const master = await sim.addInstance('control-plane');
    // The holder pauses (a long GC, a frozen VM) with its secret write in flight; meanwhile its
    // lease is taken. The write then reaches Secrets Manager.
    let stolen = false;
    proxy.onRequest = async ({ target }) => {
      if (target !== 'secretsmanager.CreateSecret' && target !== 'secretsmanager.PutSecretValue') return;
      if (stolen) return;
      stolen = true;
      await stealLease(moto, name, 'bootstrap', THIEF, 10 * LEASE_MS);
    };
    const result = await sim.run(master, ['boot', '--output', 'json'], {
      env: { AWS_ENDPOINT_URL: proxy.endpoint },
    });
    assert.ok(stolen, why(result));
    assert.notEqual(result.exitCode, 0, why(result));
    const record = await readItem(moto, name, 'meta');
    assert.equal(record?.initialized, undefined);
    assert.equal(record?.joinMaterial, undefined, "the record names none of the loser's secret versions");
  });
});
