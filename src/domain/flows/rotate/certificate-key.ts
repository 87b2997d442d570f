/**
 * The certificate key half of rotate: the control-plane certificates re-uploaded under a new key
 * (`kubeadm init phase upload-certs --config`, 0600 file), then the key published. A new key
 * replaces the uploaded certificates at once, so while the old key may still be in use it is
 * swapped holding the control-plane-join lease: joiners hold that lease from reading the key to
 * the end of kubeadm join.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { ClusterTimeoutError } from '../../../core/errors.js';
import type { Secret } from '../../../core/secrets.js';
import { type ControlPlaneSecret, JOIN_MATERIAL_SCHEMA_VERSION } from '../../join/material.js';
import { controlPlaneSecretId } from '../../join/secret-ids.js';
import { ENCRYPTION_CONFIG_PATH, encryptionKeyFromConfig } from '../../kubeadm/hardening.js';
import { renderUploadCertsConfig } from '../../kubeadm/render.js';
import { generateCertificateKey } from '../../kubeadm/tokens.js';
import type { UploadCertsConfigInput } from '../../kubeadm/types.js';
import { apiAddress } from '../../state/cluster-record.js';
import { acquireLease, holdAcquired } from '../../state/hold-lease.js';
import { describeHolder, leaseLabel } from '../../state/lease.js';
import { UPLOADED_CERTS_LIFETIME_MS } from '../bootstrap-master/publish.js';
import { keyMayBeInUse, type RenewDecision } from '../rotate-plan.js';
import { type Current, publish } from './material.js';
import { iso, type Rotation, runKubeadmWithConfig, UPLOAD_CERTS_CONFIG_PATH } from './rotation.js';

export async function uploadCertsInput(
  rotation: Rotation,
  certificateKey: Secret,
): Promise<UploadCertsConfigInput> {
  const endpoint = apiAddress(rotation.record.apiEndpoint);
  return {
    apiVersion: (await rotation.kubeadm()).apiVersion,
    kubernetesVersion: rotation.record.kubernetesVersion,
    clusterName: rotation.cluster,
    controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
    certificateKey,
  };
}

/**
 * A new certificate key. When the current key may still be in use, first the control-plane-join
 * lease, so no master reads the old key and then finds the certificates re-encrypted. The wait
 * ends when the lease is free, or when the old key expires (no join can use it any more), or
 * after joinWaitMs.
 */
export async function renewCertificateKey(
  rotation: Rotation,
  current: Current<ControlPlaneSecret>,
  decision: RenewDecision,
  signal: AbortSignal,
): Promise<{ expiresAt: string }> {
  const { deps, cluster, options } = rotation;
  const { clock, logger } = deps;
  const previous = current.state === 'present' ? current.value : undefined;
  if (!keyMayBeInUse(decision) || decision.expiresAtMs === undefined) {
    return uploadAndPublish(rotation, undefined, signal);
  }
  const oldKeyExpiresAtMs = decision.expiresAtMs;
  const lock = rotation.ports.lock(cluster, 'control-plane-join');
  logger.info(
    { cluster },
    'taking the control-plane-join lease, so no master joins with the old certificate key while it is replaced',
  );
  const leaseOptions = {
    owner: rotation.owner,
    clock,
    logger,
    leaseMs: rotation.leaseMs,
    pollMs: deps.settings.pollMs,
    signal,
  };
  const outcome = await acquireLease(lock, {
    ...leaseOptions,
    acquireDeadlineMs: Math.min(clock.nowMs() + options.joinWaitMs, oldKeyExpiresAtMs),
  });
  if (outcome.acquired) {
    const holding = holdAcquired(lock, outcome.lease, leaseOptions);
    try {
      return await uploadAndPublish(rotation, previous, AbortSignal.any([signal, holding.lost]));
    } finally {
      await holding.release();
    }
  }
  if (clock.nowMs() >= oldKeyExpiresAtMs) {
    logger.warn(
      { cluster, holder: outcome.current.owner },
      'the old certificate key expired while a joining master held the control-plane-join lease; no join can use it any more, so re-uploading without the lease',
    );
    return uploadAndPublish(rotation, undefined, signal);
  }
  throw new ClusterTimeoutError(
    `timed out after ${formatDurationMs(options.joinWaitMs)} waiting for the ${leaseLabel(cluster, 'control-plane-join')} (${describeHolder(outcome.current, clock.nowMs())}); the certificate key was not renewed`,
    {
      hint: `a master is joining; kboot rotate renews the key on its next run (the current key expires ${iso(oldKeyExpiresAtMs)}), or raise --wait-timeout`,
      details: { cluster, holder: outcome.current.owner },
    },
  );
}

/**
 * Re-uploads the control-plane certificates under a new key, then publishes the key (upload
 * first: a published key always decrypts what is uploaded). If publishing fails, the previous
 * key (when still valid) is uploaded again, so the key in Secrets Manager keeps working.
 */
async function uploadAndPublish(
  rotation: Rotation,
  previous: ControlPlaneSecret | undefined,
  signal: AbortSignal,
): Promise<{ expiresAt: string }> {
  const { deps, cluster } = rotation;
  const certificateKey = generateCertificateKey();
  const expiresAt = iso(deps.clock.nowMs() + UPLOADED_CERTS_LIFETIME_MS);
  deps.logger.info({ cluster }, 're-uploading the control-plane certificates under a new certificate key');
  await uploadCerts(rotation, certificateKey, signal);
  signal.throwIfAborted();
  // The encryption at rest key is kept: from the secret as it was, or, when that could not be read,
  // from this master's own EncryptionConfiguration. Losing it would leave new masters unable to
  // read the cluster's Secrets.
  const encryptionKey = previous?.encryptionKey ?? (await localEncryptionKey(rotation));
  const controlPlane: ControlPlaneSecret = {
    schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
    certificateKey,
    certificateKeyExpiresAt: expiresAt,
    updatedAt: iso(deps.clock.nowMs()),
    ...(encryptionKey === undefined ? {} : { encryptionKey }),
  };
  try {
    await publish(rotation, { controlPlane });
  } catch (error) {
    await restorePreviousKey(rotation, previous);
    throw error;
  }
  deps.logger.info(
    { cluster, secretId: controlPlaneSecretId(cluster), certificateKeyExpiresAt: expiresAt },
    'published the new certificate key',
  );
  return { expiresAt };
}

async function localEncryptionKey(rotation: Rotation): Promise<Secret | undefined> {
  const text = await rotation.deps.fs.readText(ENCRYPTION_CONFIG_PATH);
  return text === undefined ? undefined : encryptionKeyFromConfig(text);
}

async function uploadCerts(rotation: Rotation, certificateKey: Secret, signal: AbortSignal): Promise<void> {
  await runKubeadmWithConfig(
    rotation,
    UPLOAD_CERTS_CONFIG_PATH,
    renderUploadCertsConfig(await uploadCertsInput(rotation, certificateKey)),
    (file) => [
      'init',
      'phase',
      'upload-certs',
      '--upload-certs',
      '--config',
      file,
      '--skip-certificate-key-print',
    ],
    signal,
  );
}

/** The published key keeps working: the certificates re-uploaded under it (bounded, own timeout). */
async function restorePreviousKey(
  rotation: Rotation,
  previous: ControlPlaneSecret | undefined,
): Promise<void> {
  const { deps, cluster } = rotation;
  if (previous === undefined || Date.parse(previous.certificateKeyExpiresAt) <= deps.clock.nowMs()) {
    deps.logger.error(
      { cluster },
      'could not publish the new certificate key; masters cannot join until kboot rotate runs again',
    );
    return;
  }
  try {
    await uploadCerts(rotation, previous.certificateKey, AbortSignal.timeout(2 * 60_000));
    deps.logger.warn(
      { cluster },
      'could not publish the new certificate key; re-uploaded the certificates under the published key instead',
    );
  } catch (error) {
    deps.logger.error(
      { err: error, cluster },
      'could not publish the new certificate key nor restore the published one; masters cannot join until kboot rotate runs again',
    );
  }
}

/** For a dry run: a key that is never used, so the rendered config has the right shape. */
export function sampleCertificateKey(): Secret {
  return generateCertificateKey();
}
