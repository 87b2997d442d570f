/**
 * `kboot rotate` end to end: the built binary, moto, one IMDS server and root per instance, and
 * the fake kubeadm, which rejects expired bootstrap tokens and certificate keys whose certificates
 * were uploaded more than two hours ago — so a join at day 30 is a real check.
 *
 * How the timer is simulated: KBOOT_CLOCK_OFFSET_MS moves each kboot process (and the fake
 * kubeadm it runs) ahead. A real timer runs every 15 minutes; simulating 30 days that way would
 * take 2880 runs. What each run does depends only on "now" and what the last run published, so a
 * coarser timer is faithful as long as it never lets material lapse that a finer one would have
 * renewed:
 *  - the token: steps of 7 h, just under the 8 h --renew-before, so every token is renewed while
 *    it still has life left (as with any more frequent timer), and some runs keep it;
 *  - the certificate key: kubeadm keeps only the latest upload, so the state a join meets depends
 *    only on the last rotate before it. Between 7 h steps the key always lapses (it lives 2 h) and
 *    each step re-uploads it; then, before the joins, a 20-minute timer runs for 3 hours at day 30,
 *    which shows the key re-uploaded before it lapses (under 30 minutes left) and kept otherwise,
 *    and the joins meet a key uploaded 80 minutes earlier, not a fresh one.
 * After every run the test checks what any later joiner would meet: a token with at least the
 * renew-before margin left, and a published key that decrypts the certificates kubeadm holds.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { testDynamo, testSecrets } from '../support/aws.js';
import type { RunResult } from '../support/cli.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { type Moto, startMoto } from '../support/moto.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TOKEN_STEP_MS = Number(process.env.KBOOT_ROTATE_STEP_HOURS ?? 7) * HOUR;
const SIMULATED_MS = 30 * DAY;

interface JoinSecretJson {
  token: string;
  tokenExpiresAt: string;
  apiEndpoint: string;
  caCertHashes: string[];
}

interface ControlPlaneSecretJson {
  certificateKey: string;
  certificateKeyExpiresAt: string;
}

interface RotateJson {
  outcome: string;
  summary: string;
  token: {
    action: string;
    reason: string | null;
    expiresAt: string | null;
    previousExpiresAt: string | null;
  };
  certificateKey: { action: string; reason: string | null; expiresAt: string | null };
  deletedTokenIds: string[];
  heldBy: string | null;
}

function at(offsetMs: number, extra: Record<string, string> = {}): { env: Record<string, string> } {
  return { env: { KBOOT_CLOCK_OFFSET_MS: String(offsetMs), KBOOT_LOG_LEVEL: 'trace', ...extra } };
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

describe('kboot rotate', () => {
  let moto: Moto;
  const clusters: SimCluster[] = [];

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await moto.stop();
  });
  beforeEach(() => moto.reset());

  async function readSecret<T>(id: string): Promise<T> {
    const secrets = testSecrets(moto);
    try {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSCURRENT' }));
      return JSON.parse(out.SecretString as string) as T;
    } finally {
      secrets.destroy();
    }
  }

  async function cluster(name: string): Promise<SimCluster> {
    const sim = new SimCluster(moto, { name });
    clusters.push(sim);
    await sim.createTable();
    return sim;
  }

  /** A cluster whose first master initialized it at offset 0. */
  async function initialized(name: string): Promise<{ sim: SimCluster; master: SimInstance }> {
    const sim = await cluster(name);
    const master = await sim.addInstance('control-plane');
    const booted = await sim.run(master, ['boot', '--output', 'json'], at(0));
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    return { sim, master };
  }

  /** The uploaded-certs Secret as the fake kubeadm holds it. */
  function uploadedCerts(sim: SimCluster): { certificateKeySha256: string; uploadedAtMs: number } {
    return JSON.parse(readFileSync(path.join(sim.clusterDir, 'kubeadm-certs.json'), 'utf8'));
  }

  it('keeps a 30-day-old cluster joinable: rotate on its timer, then a master and a worker join at day 30', {
    timeout: 15 * 60_000,
  }, async () => {
    const { sim, master } = await initialized('aged');
    const secrets = new Set<string>();
    const collect = async (): Promise<{ join: JoinSecretJson; controlPlane: ControlPlaneSecretJson }> => {
      const join = await readSecret<JoinSecretJson>(`kboot/${sim.name}/join`);
      const controlPlane = await readSecret<ControlPlaneSecretJson>(`kboot/${sim.name}/control-plane`);
      secrets.add(join.token);
      secrets.add(controlPlane.certificateKey);
      return { join, controlPlane };
    };
    await collect();
    const runs: RunResult[] = [];
    const outcomes = { tokenRenewed: 0, tokenKept: 0, keyRenewed: 0, keyKept: 0 };

    /** One timer run at `offsetMs`, and what a joiner would meet right after it. */
    const tick = async (offsetMs: number): Promise<RotateJson> => {
      const startedMs = Date.now() + offsetMs;
      const before = await collect();
      const result = await sim.run(master, ['rotate', '--output', 'json'], at(offsetMs));
      runs.push(result);
      assert.equal(result.exitCode, 0, `rotate at +${offsetMs / HOUR}h: ${result.stderr.slice(-2000)}`);
      const report = JSON.parse(result.stdout) as RotateJson;
      const { join, controlPlane } = await collect();
      const nowMs = Date.now() + offsetMs;

      // The token is renewed exactly when it had less than 8 h left, and then has 24 h.
      const hadMs = Date.parse(before.join.tokenExpiresAt) - startedMs;
      assert.equal(report.token.action, hadMs < 8 * HOUR ? 'renewed' : 'kept', `token had ${hadMs / HOUR}h`);
      assert.ok(Date.parse(join.tokenExpiresAt) - nowMs > 8 * HOUR - MINUTE, 'token left under renew-before');
      if (report.token.action === 'renewed') {
        outcomes.tokenRenewed += 1;
        assert.notEqual(join.token, before.join.token);
        assert.equal(report.token.expiresAt, join.tokenExpiresAt);
      } else {
        outcomes.tokenKept += 1;
        assert.equal(join.token, before.join.token);
      }

      // The published key always decrypts what kubeadm holds, uploaded under 2 h ago.
      const keyHadMs = Date.parse(before.controlPlane.certificateKeyExpiresAt) - startedMs;
      assert.equal(report.certificateKey.action, keyHadMs < 30 * MINUTE ? 'renewed' : 'kept');
      if (report.certificateKey.action === 'renewed') outcomes.keyRenewed += 1;
      else outcomes.keyKept += 1;
      const uploaded = uploadedCerts(sim);
      assert.equal(
        uploaded.certificateKeySha256,
        createHash('sha256').update(controlPlane.certificateKey).digest('hex'),
        'the published key does not match the uploaded certificates',
      );
      assert.ok(nowMs - uploaded.uploadedAtMs < 2 * HOUR);
      assert.ok(Date.parse(controlPlane.certificateKeyExpiresAt) - nowMs > 30 * MINUTE - MINUTE);
      return report;
    };

    let offsetMs = 0;
    for (offsetMs = TOKEN_STEP_MS; offsetMs <= SIMULATED_MS; offsetMs += TOKEN_STEP_MS) await tick(offsetMs);
    const tokenSteps = Math.floor(SIMULATED_MS / TOKEN_STEP_MS);
    assert.ok(outcomes.tokenKept > 0, 'some runs keep the token');
    assert.ok(
      outcomes.tokenRenewed >= SIMULATED_MS / (16 * HOUR + TOKEN_STEP_MS),
      `renewals: ${outcomes.tokenRenewed}`,
    );
    assert.equal(outcomes.keyRenewed, tokenSteps, 'every 7 h step finds the key lapsed and re-uploads it');

    // The last three hours before the joins on a 20-minute timer.
    const windowStartMs = offsetMs;
    const keyRenewedBefore = outcomes.keyRenewed;
    for (let step = 0; step < 10; step += 1) {
      offsetMs = windowStartMs + step * 20 * MINUTE;
      await tick(offsetMs);
    }
    // Uploads at +0 (lapsed after the last 7 h step) and at +100 min (20 min left).
    assert.equal(outcomes.keyRenewed - keyRenewedBefore, 2);

    // Day 30: a new master and a new worker join with what rotate published.
    const newMaster = await sim.addInstance('control-plane');
    const worker = await sim.addInstance('worker');
    const joinedMaster = await sim.run(newMaster, ['join-master', '--output', 'json'], at(offsetMs));
    assert.equal(joinedMaster.exitCode, 0, joinedMaster.stderr.slice(-2000));
    assert.equal(JSON.parse(joinedMaster.stdout).outcome, 'joined-control-plane');
    const joinedWorker = await sim.run(worker, ['join-node', '--output', 'json'], at(offsetMs));
    assert.equal(joinedWorker.exitCode, 0, joinedWorker.stderr.slice(-2000));
    assert.equal(JSON.parse(joinedWorker.stdout).outcome, 'joined-worker');
    runs.push(joinedMaster, joinedWorker);
    const uploadAgeMs = Date.now() + offsetMs - uploadedCerts(sim).uploadedAtMs;
    assert.ok(
      uploadAgeMs > 70 * MINUTE,
      `the master joined with certificates uploaded ${uploadAgeMs / MINUTE} min ago`,
    );

    // The record's stamp follows the secrets.
    const state = new DynamoDbClusterStore({ dynamodb: testDynamo(moto), tableName: sim.table });
    const record = await state.readRecord(sim.name);
    const { join, controlPlane } = await collect();
    assert.equal(record?.joinMaterial?.tokenExpiresAt, join.tokenExpiresAt);
    assert.equal(record?.joinMaterial?.certificateKeyExpiresAt, controlPlane.certificateKeyExpiresAt);

    // Both masters on the timer at once, a day later (everything lapsed): one rotates.
    offsetMs += DAY;
    const both = await Promise.all(
      [master, newMaster].map((m) => sim.run(m, ['rotate', '--output', 'json'], at(offsetMs))),
    );
    runs.push(...both);
    for (const result of both) assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const concurrent = both.map((result) => (JSON.parse(result.stdout) as RotateJson).outcome).sort();
    assert.ok(
      JSON.stringify(concurrent) === '["busy","rotated"]' ||
        JSON.stringify(concurrent) === '["fresh","rotated"]',
      `outcomes: ${concurrent}`,
    );
    await collect();
    const lateWorker = await sim.addInstance('worker');
    const lateJoin = await sim.run(lateWorker, ['join-node'], at(offsetMs));
    assert.equal(lateJoin.exitCode, 0, lateJoin.stderr.slice(-2000));
    runs.push(lateJoin);

    // No token or key in any log line, any stdout, kubeadm's argv, or a file others can read.
    assert.ok(secrets.size > 2 * outcomes.tokenRenewed, 'collected every published token and key');
    for (const [index, result] of runs.entries()) {
      for (const secret of secrets) {
        assert.ok(!result.stderr.includes(secret), `run ${index} logged a secret (${secret.slice(0, 4)}…)`);
        assert.ok(!result.stdout.includes(secret), `run ${index} printed a secret`);
      }
    }
    const invocations = sim.invocations();
    assert.ok(invocations.some((i) => i.command === 'token create' && i.exitCode === 0));
    assert.ok(invocations.some((i) => i.command === 'init phase upload-certs' && i.exitCode === 0));
    for (const invocation of invocations) {
      const argv = invocation.argv.join(' ');
      for (const secret of secrets)
        assert.ok(!argv.includes(secret), `kubeadm ${invocation.command} got a secret in argv`);
    }
    for (const instance of sim.instances) {
      for (const file of filesUnder(instance.root)) {
        const text = readFileSync(file, 'utf8');
        if ([...secrets].some((secret) => text.includes(secret))) {
          const mode = statSync(file).mode & 0o777;
          assert.equal(
            mode & 0o077,
            0,
            `${path.relative(instance.root, file)} holds a secret with mode ${mode.toString(8)}`,
          );
        }
      }
      assert.deepEqual(
        readdirSync(path.join(instance.root, 'var/lib/kboot/kubeadm')),
        [],
        `config files left on ${instance.name}`,
      );
    }
  });

  it('without rotate, day-30 joins wait for fresh material, then exit 6 telling to run kboot rotate', async () => {
    const { sim, master } = await initialized('stale');
    const day30 = 30 * DAY;
    const worker = await sim.addInstance('worker');
    const failedWorker = await sim.run(worker, ['join-node', '--wait-timeout', '3s'], at(day30));
    assert.equal(failedWorker.exitCode, 6, failedWorker.stderr.slice(-2000));
    assert.match(
      failedWorker.error?.msg ?? '',
      /the bootstrap token in Secrets Manager is expired .* and was not renewed in time/,
    );
    assert.match(failedWorker.error?.hint ?? '', /run 'kboot rotate' on a control-plane instance/);
    assert.ok(
      failedWorker.logs.some((line) =>
        /waiting for kboot rotate on a control-plane instance/.test(String(line.msg)),
      ),
      'the worker said what it waits for',
    );
    const newMaster = await sim.addInstance('control-plane');
    const failedMaster = await sim.run(newMaster, ['join-master', '--wait-timeout', '3s'], at(day30));
    assert.equal(failedMaster.exitCode, 6, failedMaster.stderr.slice(-2000));
    assert.match(failedMaster.error?.msg ?? '', /bootstrap token .* expired/);
    assert.match(failedMaster.error?.hint ?? '', /kboot rotate/);

    // Three hours in, the token is still good but the certificate key has lapsed: a master waits
    // for the key; one rotate renews only the key, and the master joins.
    const threeHours = 3 * HOUR;
    const keyless = await sim.run(newMaster, ['join-master', '--wait-timeout', '3s'], at(threeHours));
    assert.equal(keyless.exitCode, 6, keyless.stderr.slice(-2000));
    assert.match(keyless.error?.msg ?? '', /the certificate key in Secrets Manager is expired/);
    const rotated = await sim.run(master, ['rotate', '--output', 'json'], at(threeHours));
    assert.equal(rotated.exitCode, 0, rotated.stderr.slice(-2000));
    const report = JSON.parse(rotated.stdout) as RotateJson;
    assert.equal(report.token.action, 'kept');
    assert.equal(report.certificateKey.action, 'renewed');
    const joined = await sim.run(
      newMaster,
      ['join-master', '--wait-timeout', '3s', '--output', 'json'],
      at(threeHours),
    );
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-2000));
    assert.equal(JSON.parse(joined.stdout).outcome, 'joined-control-plane');
    assert.equal(sim.invocations().filter((i) => i.command === 'join' && i.exitCode === 0).length, 1);

    // And the worker, once rotate renewed the token at day 30.
    const renewed = await sim.run(master, ['rotate'], at(day30));
    assert.equal(renewed.exitCode, 0, renewed.stderr.slice(-2000));
    assert.match(renewed.stdout, /^renewed the bootstrap token \(expires .*\) and the certificate key/);
    const late = await sim.run(worker, ['join-node', '--wait-timeout', '3s'], at(day30));
    assert.equal(late.exitCode, 0, late.stderr.slice(-2000));
  });

  it('waits for nobody and changes nothing where it has nothing to do', async () => {
    const { sim, master } = await initialized('idle');
    // A worker: wrong role (exit 9).
    const worker = await sim.addInstance('worker');
    const onWorker = await sim.run(worker, ['rotate'], at(0));
    assert.equal(onWorker.exitCode, 9);
    assert.match(onWorker.error?.msg ?? '', /tagged worker, so it cannot run 'kboot rotate'/);
    // A master that has not joined (its timer fired before the join): exit 0.
    const fresh = await sim.addInstance('control-plane');
    const notJoined = await sim.run(fresh, ['rotate'], at(0));
    assert.equal(notJoined.exitCode, 0, notJoined.stderr.slice(-2000));
    assert.equal(
      notJoined.stdout.trim(),
      `nothing to rotate: this instance has not joined cluster ${sim.name}`,
    );
    // Fresh material: nothing renewed; kubeadm runs only to check this member's certificates.
    const invocationsBefore = sim.invocations().length;
    const commandsSince = (start: number) =>
      sim
        .invocations()
        .slice(start)
        .map((i) => i.command);
    const quiet = await sim.run(master, ['rotate', '--output', 'json'], at(MINUTE));
    assert.equal(quiet.exitCode, 0, quiet.stderr.slice(-2000));
    assert.equal((JSON.parse(quiet.stdout) as RotateJson).outcome, 'fresh');
    assert.deepEqual(commandsSince(invocationsBefore), ['certs check-expiration']);
    const invocationsBeforeBusy = sim.invocations().length;
    // Another master holds the rotate lease: exit 0, saying so, though the material is stale.
    const store = new DynamoDbClusterStore({ dynamodb: testDynamo(moto), tableName: sim.table });
    const rotateLock = store.leaseLock(sim.name, 'rotate');
    const held = await rotateLock.tryAcquire({
      owner: 'i-0other',
      nowMs: Date.now() + 5 * HOUR,
      leaseMs: 2 * MINUTE,
    });
    assert.ok(held.acquired);
    // A live holder renews (a new rvn each time): rotate sees it alive and leaves at once.
    const renewing = setInterval(() => {
      rotateLock.renew(held.lease, { nowMs: Date.now(), leaseMs: 2 * MINUTE }).catch(() => undefined);
    }, 100);
    const busy = await sim
      .run(master, ['rotate', '--output', 'json'], at(5 * HOUR))
      .finally(() => clearInterval(renewing));
    assert.equal(busy.exitCode, 0, busy.stderr.slice(-2000));
    const busyReport = JSON.parse(busy.stdout) as RotateJson;
    assert.equal(busyReport.outcome, 'busy');
    assert.equal(busyReport.heldBy, 'i-0other');
    assert.match(busyReport.summary, /i-0other holds the rotate lease/);
    // It still reports its certificates (before the lease), and renews nothing.
    assert.deepEqual(commandsSince(invocationsBeforeBusy), ['certs check-expiration']);
    // Flags that cannot keep material fresh: exit 2 before anything runs.
    for (const args of [
      ['--token-ttl', '0'],
      ['--renew-before', '30h'],
      ['--certificate-key-renew-before', '2h'],
      ['--token-ttl', 'soon'],
    ]) {
      const refused = await sim.run(master, ['rotate', ...args], at(0));
      assert.equal(refused.exitCode, 2, `${args.join(' ')}: ${refused.stderr.slice(-500)}`);
    }
  });

  it('--dry-run prints what it would renew, with secrets redacted, and changes nothing', async () => {
    const { sim, master } = await initialized('dry');
    const join = await readSecret<JoinSecretJson>(`kboot/${sim.name}/join`);
    const invocationsBefore = sim.invocations().length;
    const planned = await sim.run(master, ['rotate', '--dry-run'], at(20 * HOUR));
    assert.equal(planned.exitCode, 0, planned.stderr.slice(-2000));
    assert.match(
      planned.stdout,
      /^kboot rotate would:\n {2}1\. record in this member's item of the cluster table that [^\n]*\n {2}2\. take the rotate lease of cluster [^\n]*\n {2}3\. create a new bootstrap token \(TTL 1d\)/,
    );
    assert.match(planned.stdout, /the current token expires in (3h59m\d+s|4h), under the 8h threshold/);
    assert.match(planned.stdout, /4\. re-upload the control-plane certificates under a new certificate key/);
    assert.match(planned.stdout, /the current key expired 18h/);
    assert.match(planned.stdout, /--- \/var\/lib\/kboot\/kubeadm\/token\.yaml \(mode 0600\)/);
    assert.match(planned.stdout, /token: "\[REDACTED\]"/);
    assert.match(planned.stdout, /certificateKey: "\[REDACTED\]"/);
    assert.doesNotMatch(planned.stdout, /[a-z0-9]{6}\.[a-z0-9]{16}|[a-f0-9]{64}/);
    assert.deepEqual(
      sim
        .invocations()
        .slice(invocationsBefore)
        .map((i) => i.command),
      ['certs check-expiration', 'version', 'token list'],
    );
    assert.equal((await readSecret<JoinSecretJson>(`kboot/${sim.name}/join`)).token, join.token);

    const json = await sim.run(master, ['rotate', '--dry-run', '--output', 'json'], at(20 * HOUR));
    const report = JSON.parse(json.stdout) as RotateJson & { plan: { step: string }[] };
    assert.equal(report.outcome, 'planned');
    assert.deepEqual(
      report.plan.map((change) => change.step),
      ['record-certificates', 'rotate-lease', 'renew-token', 'renew-certificate-key'],
    );
    assert.equal(report.token.action, 'would-renew');
  });
});
