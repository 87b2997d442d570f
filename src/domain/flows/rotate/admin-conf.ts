/**
 * The published admin.conf (`kboot/<cluster>/admin.conf`, what `kboot kubeconfig` hands out)
 * kept in date. kubeadm's admin.conf carries a client certificate that lives one year; `kubeadm
 * certs renew all` renews this member's copy, never the published one. Under the rotate lease:
 *   check-admin-conf (the version the record names, its client certificate's notAfter) → …
 *   renew-certificates, restart-control-plane (certificates.ts) → publish-admin-conf: when this
 *   run renewed the member's certificates, or the published client certificate has fewer than
 *   30 days left (or the secret is missing or unreadable), this member's
 *   /etc/kubernetes/admin.conf is published as a new version, by the same write rotate publishes
 *   the token with (material.ts), and its VersionId recorded under the rotate lease's fence
 *   (renew.ts): `kboot kubeconfig` reads the version the record names. Its client certificate's
 *   expiry is stamped beside that version (`joinMaterial.adminConfExpiresAt`), so a later run
 *   judges it from the record without reading the secret (one GetSecretValue less per run).
 */

import { StateConflictError } from '../../../core/errors.js';
import { Secret } from '../../../core/secrets.js';
import { JoinMaterialMissingError } from '../../join/errors.js';
import { adminConfSecretId } from '../../join/secret-ids.js';
import { CERTIFICATES_RENEW_BEFORE_MS, certificatesDue } from '../../kubeadm/cert-expiration.js';
import { parseAdminKubeconfig } from '../../kubeconfig/admin.js';
import { clientCertificateNotAfterMs } from '../../kubeconfig/client-certificate.js';
import { ADMIN_CONF_PATH } from '../paths.js';
import { describeExpiry } from './certificates.js';
import { publish } from './material.js';
import { recordStamp } from './renew.js';
import { iso, type Rotation } from './rotation.js';
import type { AdminConfCheck, RotateStep } from './types.js';

function describeAdminConf(check: AdminConfCheck, nowMs: number): string {
  if (check.state !== 'present') return `the published admin.conf is ${check.state}`;
  if (check.expiresAtMs === null) return 'the published admin.conf embeds no client certificate';
  return `the published admin.conf's client certificate expires ${describeExpiry(check.expiresAtMs, nowMs)}`;
}

async function readPublished(rotation: Rotation, signal: AbortSignal): Promise<AdminConfCheck> {
  const { store, cluster, deps, options } = rotation;
  const secretId = adminConfSecretId(cluster);
  const renewBeforeMs = options.certificatesRenewBeforeMs ?? CERTIFICATES_RENEW_BEFORE_MS;
  // The expiry stamped with the version the record names (by whoever published it): no read.
  const stamped = rotation.record.joinMaterial;
  if (stamped?.versions?.adminConf !== undefined && stamped.adminConfExpiresAt !== undefined) {
    const expiresAtMs = Date.parse(stamped.adminConfExpiresAt);
    const due = certificatesDue(expiresAtMs, deps.clock.nowMs(), renewBeforeMs);
    return { state: 'present', expiresAtMs, due, source: 'record' };
  }
  let expiresAtMs: number | null;
  try {
    const text = await store.readAdminConf(cluster, rotation.record.joinMaterial?.versions?.adminConf);
    signal.throwIfAborted();
    const source = `secret ${secretId}`;
    expiresAtMs = clientCertificateNotAfterMs(parseAdminKubeconfig(text, source), source) ?? null;
  } catch (error) {
    if (error instanceof JoinMaterialMissingError)
      return { state: 'missing', expiresAtMs: null, due: true, source: 'secret' };
    if (!(error instanceof StateConflictError)) throw error;
    deps.logger.warn({ secretId, problem: error.message }, 'the published admin.conf is unreadable');
    return { state: 'unreadable', expiresAtMs: null, due: true, source: 'secret' };
  }
  const due = expiresAtMs !== null && certificatesDue(expiresAtMs, deps.clock.nowMs(), renewBeforeMs);
  return { state: 'present', expiresAtMs, due, source: 'secret' };
}

/** This member's admin.conf and its client certificate's notAfter; undefined when it has none. */
async function readLocal(
  rotation: Rotation,
): Promise<{ text: Secret<string>; expiresAtMs: number | null } | undefined> {
  const content = await rotation.deps.fs.readText(ADMIN_CONF_PATH);
  if (content === undefined) return undefined;
  const text = new Secret(content);
  const expiresAtMs = clientCertificateNotAfterMs(
    parseAdminKubeconfig(text, ADMIN_CONF_PATH),
    ADMIN_CONF_PATH,
  );
  return { text, expiresAtMs: expiresAtMs ?? null };
}

export const checkAdminConf: RotateStep = {
  name: 'check-admin-conf',
  kind: 'read',
  describe: () =>
    'read the published admin.conf (the version the cluster record names) and when its client certificate expires',
  async run({ state, deps, logger, signal }) {
    const rotation = state.get('rotation');
    const check = await readPublished(rotation, signal);
    logger.info(
      {
        secretId: adminConfSecretId(rotation.cluster),
        adminConfExpiresAt: check.expiresAtMs === null ? null : iso(check.expiresAtMs),
        checkedFrom: check.source,
      },
      `${describeAdminConf(check, deps.clock.nowMs())}${check.due ? '; due for republishing' : ''}`,
    );
    state.set({ publishedAdminConf: check });
    return undefined;
  },
};

export const publishAdminConf: RotateStep = {
  name: 'publish-admin-conf',
  kind: 'change',
  describe: (state, deps) => {
    const secretId = adminConfSecretId(state.get('identity').clusterName);
    const why = state.get('certificates').due
      ? "this member's certificates are renewed this run"
      : describeAdminConf(state.get('publishedAdminConf'), deps.clock.nowMs());
    return `publish this member's ${ADMIN_CONF_PATH} (its client certificate renewed by kubeadm) to ${secretId} and record its version under the rotate lease: ${why}`;
  },
  skip: (state) =>
    state.get('certificates').due || state.get('publishedAdminConf').due
      ? undefined
      : "no certificate renewed this run and the published admin.conf's client certificate has 30 days or more left",
  noUndo:
    "the version published is this member's admin.conf, signed by the cluster CA and later to expire; the record names it only once it is published, and the earlier version stays in Secrets Manager",
  async run({ state, deps, logger, signal }) {
    const rotation = state.get('rotation');
    const secretId = adminConfSecretId(rotation.cluster);
    const published = state.get('publishedAdminConf');
    const local = await readLocal(rotation);
    if (local === undefined) {
      logger.warn(
        { secretId, path: ADMIN_CONF_PATH },
        `this member has no ${ADMIN_CONF_PATH}: not republished`,
      );
      state.set({ adminConfNotRepublished: `this member has no ${ADMIN_CONF_PATH}` });
      return undefined;
    }
    if (
      published.state === 'present' &&
      published.expiresAtMs !== null &&
      (local.expiresAtMs === null || local.expiresAtMs <= published.expiresAtMs)
    ) {
      logger.warn(
        { secretId, adminConfExpiresAt: local.expiresAtMs === null ? null : iso(local.expiresAtMs) },
        `this member's ${ADMIN_CONF_PATH} expires no later than the published one: not republished (kubeadm certs renew admin.conf renews it)`,
      );
      state.set({
        adminConfNotRepublished: `this member's ${ADMIN_CONF_PATH} expires no later than the published one`,
      });
      return undefined;
    }
    signal.throwIfAborted();
    await publish(rotation, { adminConf: local.text });
    state.set({
      republishedAdminConf: { expiresAt: local.expiresAtMs === null ? null : iso(local.expiresAtMs) },
    });
    await recordStamp(state, signal);
    logger.info(
      {
        secretId,
        versionId: rotation.published.adminConf ?? null,
        adminConfExpiresAt: local.expiresAtMs === null ? null : iso(local.expiresAtMs),
        previousExpiresAt: published.expiresAtMs === null ? null : iso(published.expiresAtMs),
      },
      local.expiresAtMs === null
        ? `republished admin.conf to ${secretId}`
        : `republished admin.conf to ${secretId}: its client certificate expires ${describeExpiry(local.expiresAtMs, deps.clock.nowMs())}`,
    );
    return undefined;
  },
};
