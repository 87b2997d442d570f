/**
 * The cluster made joinable: the membership file, the join, control-plane and admin.conf
 * secrets and `initialized` (under the lease: the point after which nothing is undone), the
 * member record.
 */

import type { Logger } from '../../../core/logger.js';
import type { Secret } from '../../../core/secrets.js';
import { JOIN_MATERIAL_SCHEMA_VERSION, type JoinMaterial } from '../../join/material.js';
import { publishedVersions } from '../../join/store.js';
import { formatKubeVersion } from '../../kubeadm/version.js';
import { parseAdminKubeconfig } from '../../kubeconfig/admin.js';
import { clientCertificateNotAfterMs } from '../../kubeconfig/client-certificate.js';
import { apiAddress } from '../../state/cluster-record.js';
import type { FlowState } from '../../steps/state.js';
import { membershipFor, writeMembership } from '../membership.js';
import { ADMIN_CONF_PATH, MEMBERSHIP_PATH } from '../paths.js';
import { memberTimeline } from '../start-steps.js';
import type { BootstrapState, BootstrapStep } from './state.js';

/** kubeadm deletes the certificates `--upload-certs` stored after two hours. */
export const UPLOADED_CERTS_LIFETIME_MS = 2 * 60 * 60_000;

/** The join material a fresh init publishes, made at `nowMs`, and its stamp for the record. */
export function joinMaterialAt(
  state: FlowState<BootstrapState>,
  tokenTtlMs: number,
  nowMs: number,
): {
  material: JoinMaterial;
  stamp: { updatedAt: string; tokenExpiresAt: string; certificateKeyExpiresAt: string };
} {
  const record = state.get('record');
  const tokenExpiresAt = new Date(nowMs + tokenTtlMs).toISOString();
  const certificateKeyExpiresAt = new Date(nowMs + UPLOADED_CERTS_LIFETIME_MS).toISOString();
  const updatedAt = new Date(nowMs).toISOString();
  const endpoint = apiAddress(record.apiEndpoint);
  const material: JoinMaterial = {
    join: {
      schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
      apiEndpoint: `${endpoint.host}:${endpoint.port}`,
      token: state.get('token'),
      tokenExpiresAt,
      caCertHashes: [state.get('caHash')],
      kubernetesVersion: record.kubernetesVersion,
      updatedAt,
    },
    controlPlane: {
      schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
      certificateKey: state.get('certificateKey'),
      certificateKeyExpiresAt,
      updatedAt,
      ...(state.has('encryptionKey') ? { encryptionKey: state.get('encryptionKey') } : {}),
    },
    adminConf: state.get('adminConf'),
  };
  return { material, stamp: { updatedAt, tokenExpiresAt, certificateKeyExpiresAt } };
}

export const membershipFile: BootstrapStep = {
  name: 'membership-file',
  kind: 'change',
  describe: () => `remember that this instance initialized the cluster (${MEMBERSHIP_PATH}, 0600)`,
  async run({ state, deps }) {
    const lease = state.get('lease');
    await writeMembership(
      deps.fs,
      membershipFor(lease.cluster, 'control-plane', lease.owner, 'init', deps.clock.nowMs()),
    );
    return undefined;
  },
  undo: {
    describe: `remove ${MEMBERSHIP_PATH}`,
    run: async ({ deps }) => deps.fs.remove(MEMBERSHIP_PATH),
  },
};

/**
 * When the admin.conf just published expires (its client certificate's notAfter), stamped beside
 * its version so `kboot rotate` and `kboot status` need not read the secret. Undefined when it
 * embeds no client certificate, or one kboot cannot read (rotate then reads the secret).
 */
function adminConfExpiry(adminConf: Secret<string>, logger: Logger): string | undefined {
  try {
    const notAfterMs = clientCertificateNotAfterMs(
      parseAdminKubeconfig(adminConf, ADMIN_CONF_PATH),
      ADMIN_CONF_PATH,
    );
    return notAfterMs === undefined ? undefined : new Date(notAfterMs).toISOString();
  } catch (error) {
    logger.warn({ err: error }, "could not read admin.conf's client certificate expiry; not stamped");
    return undefined;
  }
}

export const publishAndMarkInitialized: BootstrapStep = {
  name: 'publish-join-material',
  kind: 'change',
  describe: () =>
    'publish the join, control-plane and admin.conf secrets, and mark the cluster initialized (under the lease)',
  commits:
    'once the cluster is marked initialized, other instances join it: this master is never reset after that',
  async run({ state, deps, signal }) {
    const { logger, clock } = deps;
    const lease = state.get('lease');
    const record = state.get('record');
    const cluster = lease.cluster;
    const nowMs = clock.nowMs();
    const { material, stamp } = joinMaterialAt(state, deps.settings.tokenTtlMs, nowMs);
    const { updatedAt, tokenExpiresAt, certificateKeyExpiresAt } = stamp;
    const store = await deps.joinMaterial();
    signal.throwIfAborted();
    const published = await store.publish(
      cluster,
      material,
      record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId },
    );
    logger.info(
      { cluster, caCertHash: state.get('caHash'), tokenExpiresAt },
      'published join material to Secrets Manager',
    );
    signal.throwIfAborted();
    const records = state.get('ports').records;
    // The versions just written are recorded by the same fenced write that marks the cluster
    // initialized: if this master lost its lease meanwhile, nothing it published is ever read.
    const pkiVersion = state.peek('pkiSecret')?.versionId;
    const versions = {
      ...publishedVersions(cluster, published),
      ...(pkiVersion === undefined ? {} : { pki: pkiVersion }),
    };
    const adminConfExpiresAt = adminConfExpiry(state.get('adminConf'), logger);
    await records.markInitialized(lease, clock.nowMs(), signal, {
      updatedAt,
      tokenExpiresAt,
      certificateKeyExpiresAt,
      versions,
      ...(adminConfExpiresAt === undefined ? {} : { adminConfExpiresAt }),
    });
    logger.info({ cluster, fence: lease.fence, versions }, 'marked the cluster initialized');
    return undefined;
  },
};

export const memberRecord: BootstrapStep = {
  name: 'member-record',
  kind: 'change',
  describe: () =>
    'record this control-plane member (its boot timeline and Kubernetes version) in the cluster state',
  noUndo:
    'a member record only describes the member: the cluster is initialized whether or not it is written',
  async run({ state, deps, signal, progress }) {
    const lease = state.get('lease');
    await state.get('ports').records.recordMember(
      lease.cluster,
      {
        instanceId: lease.owner,
        role: 'control-plane',
        joinedAt: new Date(deps.clock.nowMs()).toISOString(),
        fence: lease.fence,
        nodeName: state.get('nodeName'),
        privateIp: state.get('identity').instance.privateIpv4,
        bootTimeline: memberTimeline(progress(), state.get('identity')),
        kubernetesVersion: formatKubeVersion(state.get('kubeadm').version),
      },
      signal,
    );
    deps.logger.info({ cluster: lease.cluster }, `initialized cluster ${lease.cluster}`);
    return undefined;
  },
};
