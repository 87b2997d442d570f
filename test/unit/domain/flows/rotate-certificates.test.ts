/**
 * `kboot rotate` and this member's kubeadm certificates, over the rotate flow's fake world: the
 * member reports their expiry every run (even when another master rotates), renews them under the
 * rotate lease with fewer than 30 days left (day 340 of a one-year certificate: yes; day 100: no),
 * restarts its control-plane static Pods by moving their manifests out and back, and puts the
 * manifests back when stopped or after a crash.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ExitCode, InterruptedError, type KbootError } from '../../../../src/core/errors.js';
import {
  CONTROL_PLANE_MANIFESTS,
  MANIFESTS_DIR,
  PARKED_MANIFESTS_DIR,
  RESTART_PENDING_PATH,
} from '../../../../src/domain/flows/rotate/certificates.js';
import { captureLogger } from '../state/capture-logger.js';
import { HOUR, iso, START_MS, type World, world } from './rotate-world.js';

const DAY = 24 * HOUR;
/** A year-long certificate at day 340 of its life, and at day 100. */
const AT_DAY_340 = START_MS + 25 * DAY;
const AT_DAY_100 = START_MS + 265 * DAY;

async function member(expiresAtMs: number): Promise<World> {
  const w = await world();
  w.certificatesExpireAtMs = expiresAtMs;
  for (const name of CONTROL_PLANE_MANIFESTS) {
    await w.fs.writePrivateFile(`${MANIFESTS_DIR}/${name}`, `kind: Pod # ${name}\n`);
  }
  return w;
}

function manifests(w: World, dir: string): string[] {
  return [...w.fs.files.keys()]
    .filter((file) => file.startsWith(`${dir}/`))
    .map((file) => file.slice(dir.length + 1))
    .sort();
}

describe('kboot rotate: this member’s kubeadm certificates', () => {
  it('at day 340: reports, renews under the rotate lease, restarts the control plane, and logs it', async () => {
    const w = await member(AT_DAY_340);
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const leaseHeldAtRenew: (string | undefined)[] = [];
    w.onRenew = () => leaseHeldAtRenew.push(w.lock('rotate').record?.owner);
    const result = await w.run();

    assert.deepEqual(w.certificateEvents, [
      'kubeadm:certs check-expiration',
      'certificates-stamp',
      'kubeadm:certs renew',
      'kubeadm:certs check-expiration',
      'kubectl:readyz',
      'certificates-stamp',
    ]);
    // The probe goes to this member's own API server, at its advertise address.
    assert.deepEqual(w.kubectlCalls, [['get', '--raw=/readyz', '--server=https://10.0.1.10:6443']]);
    assert.deepEqual(leaseHeldAtRenew, ['i-self'], 'renewed while holding the rotate lease');
    assert.deepEqual(
      w.certificateStamps.map((stamp) => stamp.certificatesExpireAt),
      [iso(AT_DAY_340), iso(START_MS + 365 * DAY)],
    );
    assert.equal(w.certificateStamps[0]?.instanceId, 'i-self');
    assert.deepEqual(manifests(w, MANIFESTS_DIR), [...CONTROL_PLANE_MANIFESTS].sort(), 'all back');
    assert.equal(w.fs.files.get(`${MANIFESTS_DIR}/etcd.yaml`)?.content, 'kind: Pod # etcd.yaml\n');
    assert.equal(w.fs.files.get(`${MANIFESTS_DIR}/etcd.yaml`)?.mode, 0o600);
    assert.deepEqual(manifests(w, PARKED_MANIFESTS_DIR), []);
    assert.equal(await w.fs.exists(RESTART_PENDING_PATH), false, 'the restart is done');

    const messages = lines.map((line) => line.msg);
    assert.ok(
      messages.some((m) =>
        /^renewing this member's kubeadm certificates: apiserver expires first, in 25 day\(s\)/.test(m),
      ),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /^renewed this member's kubeadm certificates: .* in 365 day\(s\)/.test(m)),
    );
    assert.ok(messages.includes("restarted this member's control plane with its renewed certificates"));
    assert.deepEqual(result.certificates, {
      action: 'renewed',
      expiresAt: iso(START_MS + 365 * DAY),
      previousExpiresAt: iso(AT_DAY_340),
    });
    assert.equal(result.outcome, 'rotated');
    assert.match(result.summary, /renewed this member's kubeadm certificates \(they expire .*\)/);
    assert.equal(w.lock('rotate').record?.owner, undefined, 'the rotate lease is released');
  });

  it('at day 100: reports, renews nothing, leaves the manifests alone', async () => {
    const w = await member(AT_DAY_100);
    const result = await w.run();
    assert.deepEqual(w.certificateEvents, ['kubeadm:certs check-expiration', 'certificates-stamp']);
    assert.equal(w.certificateStamps[0]?.certificatesExpireAt, iso(AT_DAY_100));
    assert.equal(w.certificateStamps[0]?.certificatesCheckedAt, iso(START_MS));
    assert.deepEqual(manifests(w, MANIFESTS_DIR), [...CONTROL_PLANE_MANIFESTS].sort());
    assert.equal(result.outcome, 'fresh');
    assert.deepEqual(result.certificates, {
      action: 'kept',
      expiresAt: iso(AT_DAY_100),
      previousExpiresAt: iso(AT_DAY_100),
    });
  });

  it('reports even when another master holds the rotate lease, and renews nothing then', async () => {
    const w = await member(AT_DAY_340);
    w.lock('rotate').record = { owner: 'i-other', expiresAtMs: START_MS + HOUR, fence: 4 };
    w.lock('rotate').holderRenews = true;
    const result = await w.run();
    assert.equal(result.outcome, 'busy');
    assert.deepEqual(w.certificateEvents, ['kubeadm:certs check-expiration', 'certificates-stamp']);
  });

  it('--dry-run plans the renewal and the restart, and changes nothing', async () => {
    const w = await member(AT_DAY_340);
    const { result, planned } = await w.runDry();
    const steps = planned.map((change) => change.step);
    assert.ok(steps.includes('record-certificates'));
    assert.ok(steps.includes('renew-certificates'));
    assert.ok(steps.includes('restart-control-plane'));
    const renew = planned.find((change) => change.step === 'renew-certificates');
    assert.match(
      renew?.description ?? '',
      /kubeadm certs renew all.*apiserver expires first, in 25 day\(s\)/,
    );
    assert.deepEqual(w.certificateEvents, ['kubeadm:certs check-expiration']);
    assert.deepEqual(manifests(w, MANIFESTS_DIR), [...CONTROL_PLANE_MANIFESTS].sort());
    assert.equal(result.certificates?.action, 'would-renew');
  });

  it('stopped while the manifests are out: puts them back, and the next run restarts the control plane', async () => {
    const w = await member(AT_DAY_340);
    w.logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          if (line.includes('moved the control-plane static Pod manifests out')) {
            w.interrupt.abort(new InterruptedError('interrupted by SIGTERM'));
          }
        },
      },
    );
    await assert.rejects(w.run(), InterruptedError);
    assert.deepEqual(
      manifests(w, MANIFESTS_DIR),
      [...CONTROL_PLANE_MANIFESTS].sort(),
      'put back by the undo',
    );
    assert.deepEqual(manifests(w, PARKED_MANIFESTS_DIR), []);
    assert.equal(await w.fs.exists(RESTART_PENDING_PATH), true, 'the restart is still owed');
    assert.equal(w.lock('rotate').record?.owner, undefined, 'the rotate lease is released');

    // The next run: the certificates are fresh now, but the restart is owed.
    const next = await world();
    next.fs.files.clear();
    for (const [file, entry] of w.fs.files) next.fs.files.set(file, entry);
    next.certificatesExpireAtMs = w.certificatesExpireAtMs;
    const { logger, lines } = captureLogger();
    next.logger = logger;
    await next.run();
    assert.deepEqual(next.certificateEvents, [
      'kubeadm:certs check-expiration',
      'certificates-stamp',
      'kubectl:readyz',
    ]);
    assert.ok(
      lines.some(
        (line) => line.msg === "restarted this member's control plane with its renewed certificates",
      ),
    );
    assert.equal(await next.fs.exists(RESTART_PENDING_PATH), false);
  });

  it('waits for the restarted API server to answer before the member item says renewed', async () => {
    const w = await member(AT_DAY_340);
    w.apiDownForProbes = 3;
    const result = await w.run();
    assert.equal(result.certificates?.action, 'renewed');
    assert.equal(w.kubectlCalls.length, 4);
    assert.deepEqual(w.certificateEvents.slice(-2), ['kubectl:readyz', 'certificates-stamp']);
    assert.equal(w.certificateStamps.at(-1)?.certificatesExpireAt, iso(START_MS + 365 * DAY));
  });

  it('an API server that never answers fails the run (exit 6) and the member item keeps the old expiry', async () => {
    const w = await member(AT_DAY_340);
    w.apiDownForProbes = Number.POSITIVE_INFINITY;
    await assert.rejects(w.run(), (error: KbootError) => {
      assert.equal(error.exitCode, ExitCode.clusterTimeout);
      assert.match(
        error.message,
        /API server \(https:\/\/10\.0\.1\.10:6443\) did not answer \/readyz within 3m/,
      );
      assert.match(error.message, /still shows the expiry from before the renewal/);
      return true;
    });
    assert.deepEqual(
      w.certificateStamps.map((stamp) => stamp.certificatesExpireAt),
      [iso(AT_DAY_340)],
      'only the check before the renewal is recorded',
    );
    assert.deepEqual(manifests(w, MANIFESTS_DIR), [...CONTROL_PLANE_MANIFESTS].sort(), 'manifests in place');
  });

  it('puts back the manifests a killed run left parked, first thing', async () => {
    const w = await member(AT_DAY_100);
    for (const name of ['kube-apiserver.yaml', 'etcd.yaml']) {
      await w.fs.remove(`${MANIFESTS_DIR}/${name}`);
      await w.fs.writePrivateFile(`${PARKED_MANIFESTS_DIR}/${name}`, `kind: Pod # ${name}\n`);
    }
    const { logger, lines } = captureLogger();
    w.logger = logger;
    await w.run();
    assert.deepEqual(manifests(w, MANIFESTS_DIR), [...CONTROL_PLANE_MANIFESTS].sort());
    assert.deepEqual(manifests(w, PARKED_MANIFESTS_DIR), []);
    assert.ok(lines.some((line) => /parked from a restart that did not finish/.test(line.msg)));
  });

  it('keeps rotating the join material when kubeadm cannot check the certificates', async () => {
    const w = await member(AT_DAY_340);
    w.failKubeadm.add('certs check-expiration');
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const result = await w.run();
    assert.equal(result.outcome, 'fresh');
    assert.deepEqual(w.certificateStamps, []);
    assert.equal(result.certificates, null);
    assert.ok(
      lines.some(
        (line) => line.level === 40 && /could not check this member's kubeadm certificates/.test(line.msg),
      ),
    );
  });
});
