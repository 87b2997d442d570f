/**
 * `kboot rotate` and the published admin.conf (`kboot/<cluster>/admin.conf`, what `kboot
 * kubeconfig` hands out), over the rotate flow's fake world: republished from this member, with
 * its version recorded under the rotate lease, when the run renewed the member's certificates or
 * when the published client certificate has fewer than 30 days left; never otherwise, never with
 * a client certificate no fresher than the published one, and never a secret in a log or argv.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../../../src/core/secrets.js';
import { ADMIN_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import { CONTROL_PLANE_MANIFESTS, MANIFESTS_DIR } from '../../../../src/domain/flows/rotate/certificates.js';
import { parseAdminKubeconfig } from '../../../../src/domain/kubeconfig/admin.js';
import { clientCertificateNotAfterMs } from '../../../../src/domain/kubeconfig/client-certificate.js';
import { adminConfText } from '../../../support/admin-conf.js';
import { captureLogger } from '../state/capture-logger.js';
import { DAY, iso, START_MS, type World, world } from './rotate-world.js';

/** A year-long certificate at day 340 of its life (25 days left), and at day 100. */
const AT_DAY_340 = START_MS + 25 * DAY;
const AT_DAY_100 = START_MS + 265 * DAY;
const MARKER = 'KEY-SECRET-MARKER';

/** This member's certificates (and its admin.conf) end at `memberMs`; the published admin.conf at `publishedMs`. */
async function member(memberMs: number, publishedMs: number | undefined): Promise<World> {
  const w = await world();
  w.certificatesExpireAtMs = memberMs;
  await w.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(memberMs));
  w.adminConf = publishedMs === undefined ? undefined : new Secret(adminConfText(publishedMs));
  for (const name of CONTROL_PLANE_MANIFESTS) {
    await w.fs.writePrivateFile(`${MANIFESTS_DIR}/${name}`, `kind: Pod # ${name}\n`);
  }
  return w;
}

function publishedExpiry(w: World): number | undefined {
  const published = w.adminConf;
  assert.ok(published instanceof Secret, 'admin.conf is published');
  return clientCertificateNotAfterMs(parseAdminKubeconfig(published, 'published'), 'published');
}

function adminConfPublishes(w: World): number {
  return w.published.filter((update) => update.adminConf !== undefined).length;
}

describe('kboot rotate: the published admin.conf', () => {
  it('at day 340: republishes the renewed admin.conf after the restart, its version stamped under the rotate lease', async () => {
    const w = await member(AT_DAY_340, AT_DAY_340);
    w.record = {
      ...(w.record as NonNullable<World['record']>),
      joinMaterial: {
        updatedAt: iso(START_MS - DAY),
        tokenExpiresAt: iso(START_MS + 20 * 3_600_000),
        versions: { join: 'join-pinned', controlPlane: 'cp-pinned', adminConf: 'admin-pinned' },
      },
    };
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const result = await w.run();

    assert.equal(result.certificates?.action, 'renewed');
    assert.deepEqual(w.events.slice(-2), ['publish:adminConf', 'stamp'], w.events.join(' '));
    assert.ok(w.versionsRead.includes('admin.conf:admin-pinned'), 'judged the version the record names');
    assert.equal(publishedExpiry(w), START_MS + 365 * DAY, 'the renewed client certificate');
    assert.equal(
      (w.adminConf as Secret<string>).reveal(),
      await w.fs.readText(ADMIN_CONF_PATH),
      "this member's admin.conf, as kubeadm renewed it",
    );
    const stamp = w.stamps.at(-1);
    assert.equal(stamp?.versions?.adminConf, `admin-v${w.published.length}`);
    assert.equal(stamp?.versions?.join, 'join-pinned', 'the other versions are kept');
    assert.equal(w.stampLeases.at(-1)?.owner, 'i-self', 'stamped under the rotate lease');
    assert.ok(
      lines.some((line) =>
        /^republished admin\.conf to kboot\/prod\/admin\.conf: its client certificate expires in 36[45] day\(s\)/.test(
          line.msg,
        ),
      ),
      lines.map((line) => line.msg).join('\n'),
    );
    const logged = JSON.stringify(lines);
    const published = (w.adminConf as Secret<string>).reveal();
    const certData = /client-certificate-data: (\S+)/.exec(published)?.[1] as string;
    const keyData = /client-key-data: (\S+)/.exec(published)?.[1] as string;
    for (const secret of [MARKER, certData, keyData]) {
      assert.ok(!logged.includes(secret), 'no admin.conf secret in the log');
      assert.ok(!w.argv().includes(secret), 'no admin.conf secret in argv');
      assert.ok(!JSON.stringify(result).includes(secret), 'no admin.conf secret in the result');
    }
    assert.equal(w.fs.files.get(ADMIN_CONF_PATH)?.mode, 0o600);
  });

  it('at day 100: republishes a published admin.conf with fewer than 30 days left from a fresher member, renewing nothing', async () => {
    const w = await member(AT_DAY_100, START_MS + 20 * DAY);
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const result = await w.run();
    assert.equal(result.certificates?.action, 'kept');
    assert.ok(!w.certificateEvents.includes('kubeadm:certs renew'));
    assert.equal(adminConfPublishes(w), 1);
    assert.equal(publishedExpiry(w), AT_DAY_100);
    assert.ok(
      lines.some((line) =>
        /published admin\.conf's client certificate expires in 20 day\(s\)/.test(line.msg),
      ),
    );
  });

  it('leaves a published admin.conf with 30 days or more left alone', async () => {
    const w = await member(AT_DAY_100, AT_DAY_100);
    await w.run();
    assert.equal(adminConfPublishes(w), 0);
    assert.ok(!w.events.includes('publish:adminConf'));
  });

  it('publishes a missing admin.conf secret', async () => {
    const w = await member(AT_DAY_100, undefined);
    await w.run();
    assert.equal(adminConfPublishes(w), 1);
    assert.equal(publishedExpiry(w), AT_DAY_100);
    assert.equal(w.stamps.at(-1)?.versions?.adminConf, `admin-v${w.published.length}`);
  });

  it('does not replace a due published admin.conf with one no fresher, and says so', async () => {
    const w = await member(AT_DAY_100, START_MS + 20 * DAY);
    await w.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(START_MS + 10 * DAY));
    const { logger, lines } = captureLogger();
    w.logger = logger;
    await w.run();
    assert.equal(adminConfPublishes(w), 0);
    assert.ok(
      lines.some((line) => line.level === 40 && /expires no later than the published one/.test(line.msg)),
    );
  });

  it('fails with a clear error, no secret in it, when this member’s admin.conf holds a broken certificate', async () => {
    const w = await member(AT_DAY_100, undefined);
    const text = adminConfText(AT_DAY_100).replace(
      /client-certificate-data: \S+/,
      `client-certificate-data: ${Buffer.from(`-----BEGIN CERTIFICATE-----\n${Buffer.from(MARKER).toString('base64')}\n-----END CERTIFICATE-----\n`).toString('base64')}`,
    );
    await w.fs.writePrivateFile(ADMIN_CONF_PATH, text);
    await assert.rejects(w.run(), (error: Error) => {
      assert.match(error.message, /client certificate in \/etc\/kubernetes\/admin\.conf is malformed/);
      assert.ok(!error.message.includes(MARKER));
      assert.ok(!JSON.stringify(error).includes(MARKER));
      return true;
    });
    assert.equal(adminConfPublishes(w), 0);
  });

  it('--dry-run at day 340 plans the republishing after the restart, and publishes nothing', async () => {
    const w = await member(AT_DAY_340, AT_DAY_340);
    const { planned } = await w.runDry();
    const steps = planned.map((change) => change.step);
    assert.ok(steps.indexOf('publish-admin-conf') > steps.indexOf('restart-control-plane'), steps.join(' '));
    const publish = planned.find((change) => change.step === 'publish-admin-conf');
    assert.match(
      publish?.description ?? '',
      /publish this member's \/etc\/kubernetes\/admin\.conf .* to kboot\/prod\/admin\.conf/,
    );
    assert.equal(adminConfPublishes(w), 0);
  });

  it('reports the outcome (--output json) and stamps the new expiry beside the version', async () => {
    const w = await member(AT_DAY_340, AT_DAY_340);
    const result = await w.run();
    assert.deepEqual(result.adminConf, {
      action: 'republished',
      reason: "this member's certificates are renewed this run",
      expiresAt: iso(START_MS + 365 * DAY),
      previousExpiresAt: iso(AT_DAY_340),
      checkedFrom: 'secret',
    });
    assert.equal(w.stamps.at(-1)?.adminConfExpiresAt, iso(START_MS + 365 * DAY));
  });

  it('judges a stamped admin.conf from the record: no GetSecretValue for it, kept and reported so', async () => {
    const w = await member(AT_DAY_100, AT_DAY_100);
    w.record = {
      ...(w.record as NonNullable<World['record']>),
      joinMaterial: {
        updatedAt: iso(START_MS - DAY),
        tokenExpiresAt: iso(START_MS + 20 * 3_600_000),
        versions: { adminConf: 'admin-pinned' },
        adminConfExpiresAt: iso(AT_DAY_100),
      },
    };
    const result = await w.run();
    assert.ok(!w.versionsRead.some((read) => read.startsWith('admin.conf:')), w.versionsRead.join(' '));
    assert.equal(adminConfPublishes(w), 0);
    assert.deepEqual(result.adminConf, {
      action: 'kept',
      reason: null,
      expiresAt: iso(AT_DAY_100),
      previousExpiresAt: iso(AT_DAY_100),
      checkedFrom: 'record',
    });
  });

  it('republishes when the stamp says fewer than 30 days are left, still without reading the secret', async () => {
    const w = await member(AT_DAY_100, AT_DAY_100);
    w.record = {
      ...(w.record as NonNullable<World['record']>),
      joinMaterial: {
        updatedAt: iso(START_MS - DAY),
        tokenExpiresAt: iso(START_MS + 20 * 3_600_000),
        versions: { adminConf: 'admin-pinned' },
        adminConfExpiresAt: iso(START_MS + 20 * DAY),
      },
    };
    const result = await w.run();
    assert.ok(!w.versionsRead.some((read) => read.startsWith('admin.conf:')));
    assert.equal(adminConfPublishes(w), 1);
    assert.equal(result.adminConf?.action, 'republished');
    assert.equal(result.adminConf?.reason, 'its client certificate has fewer than 30 days left');
    assert.equal(w.stamps.at(-1)?.adminConfExpiresAt, iso(AT_DAY_100));
  });

  it('reports a due admin.conf it could not replace (no fresher one here), and a dry run’s would-republish', async () => {
    const w = await member(AT_DAY_100, START_MS + 20 * DAY);
    await w.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(START_MS + 10 * DAY));
    const result = await w.run();
    assert.equal(result.adminConf?.action, 'not-republished');
    assert.match(
      result.adminConf?.reason ?? '',
      /fewer than 30 days left, but this member's .* expires no later/,
    );
    assert.equal(result.adminConf?.expiresAt, iso(START_MS + 20 * DAY));

    const dry = await (await member(AT_DAY_340, AT_DAY_340)).runDry();
    assert.equal(dry.result.adminConf?.action, 'would-republish');
    assert.equal(dry.result.adminConf?.expiresAt, null);
  });
});
