/**
 * The renewals: the token (token.ts) and the certificate key (certificate-key.ts), each followed
 * by the record's stamp; then the expired kboot tokens listed and deleted.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { StateConflictError } from '../../../core/errors.js';
import { controlPlaneSecretId, joinSecretId } from '../../join/secret-ids.js';
import { renderTokenCreateConfig, renderUploadCertsConfig } from '../../kubeadm/render.js';
import { tokenId } from '../../kubeadm/tokens.js';
import type { JoinMaterialStamp } from '../../state/cluster-record.js';
import type { FlowState } from '../../steps/state.js';
import { describeDecision, keyMayBeInUse } from '../rotate-plan.js';
import { renewCertificateKey, sampleCertificateKey, uploadCertsInput } from './certificate-key.js';
import { iso, TOKEN_CONFIG_PATH, UPLOAD_CERTS_CONFIG_PATH } from './rotation.js';
import { deleteTokens, expiredTokenIds, renewToken, sampleToken, tokenCreateInput } from './token.js';
import type { RotateState, RotateStep } from './types.js';

/**
 * The expiry of the admin.conf the stamp's versions name: the one this run published, else the
 * one found at the start (from the record's stamp, or read from the secret: an older record gets
 * its stamp here). Undefined when unknown.
 */
function publishedAdminConfExpiry(state: FlowState<RotateState>): string | undefined {
  const republished = state.peek('republishedAdminConf');
  if (republished !== undefined) return republished.expiresAt ?? undefined;
  const found = state.peek('publishedAdminConf');
  return found?.state === 'present' && found.expiresAtMs !== null ? iso(found.expiresAtMs) : undefined;
}

/** The record's stamp follows the secrets; a newer stamp (another rotation) wins and is kept. */
export async function recordStamp(state: FlowState<RotateState>, signal: AbortSignal): Promise<void> {
  const rotation = state.get('rotation');
  const { deps, cluster } = rotation;
  const tokenExpiresAt = state.get('tokenExpiresAt');
  if (tokenExpiresAt === undefined) return;
  const certificateKeyExpiresAt = state.get('certificateKeyExpiresAt');
  const versions = { ...rotation.record.joinMaterial?.versions, ...rotation.published };
  const adminConfExpiresAt = publishedAdminConfExpiry(state);
  const stamp: JoinMaterialStamp = {
    updatedAt: iso(deps.clock.nowMs()),
    tokenExpiresAt,
    ...(certificateKeyExpiresAt === undefined ? {} : { certificateKeyExpiresAt }),
    ...(Object.keys(versions).length === 0 ? {} : { versions }),
    ...(adminConfExpiresAt === undefined ? {} : { adminConfExpiresAt }),
  };
  try {
    // Under the rotate lease's fence: versions a rotation that lost its lease published are never recorded.
    await rotation.ports.records.updateJoinMaterial(cluster, stamp, signal, rotation.lease);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    deps.logger.warn({ err: error, cluster }, 'did not record the join material stamp in the cluster record');
  }
}

export const renewTokenStep: RotateStep = {
  name: 'renew-token',
  kind: 'change',
  describe: (state) => {
    const { options, cluster } = state.get('rotation');
    return `create a new bootstrap token (TTL ${formatDurationMs(options.tokenTtlMs)}) with kubeadm token create and publish it to ${joinSecretId(cluster)}: the current token ${describeDecision(state.get('plan').token, options.tokenRenewBeforeMs)}`;
  },
  skip: (state) => (state.get('plan').token.renew ? undefined : 'the bootstrap token is fresh'),
  async files(state) {
    const input = await tokenCreateInput(state.get('rotation'), sampleToken());
    return [{ path: TOKEN_CONFIG_PATH, content: renderTokenCreateConfig(input, { mode: 'redacted' }) }];
  },
  async run({ state, signal }) {
    const renewed = await renewToken(state.get('rotation'), state.get('current').join, signal);
    state.set({ renewedToken: renewed, tokenExpiresAt: renewed.expiresAt });
    await recordStamp(state, signal);
    return undefined;
  },
  cleanup: {
    describe: `remove ${TOKEN_CONFIG_PATH} (it holds the new token)`,
    run: async ({ deps }) => deps.fs.remove(TOKEN_CONFIG_PATH),
    removesSecrets: true,
  },
};

export const renewCertificateKeyStep: RotateStep = {
  name: 'renew-certificate-key',
  kind: 'change',
  describe: (state) => {
    const { options, cluster } = state.get('rotation');
    const decision = state.get('plan').certificateKey;
    const lease = keyMayBeInUse(decision)
      ? ' (holding the control-plane-join lease, so no master joins with the old key meanwhile)'
      : '';
    return `re-upload the control-plane certificates under a new certificate key with kubeadm init phase upload-certs and publish it to ${controlPlaneSecretId(cluster)}${lease}: the current key ${describeDecision(decision, options.certificateKeyRenewBeforeMs)}`;
  },
  skip: (state) => (state.get('plan').certificateKey.renew ? undefined : 'the certificate key is fresh'),
  async files(state) {
    const input = await uploadCertsInput(state.get('rotation'), sampleCertificateKey());
    return [
      { path: UPLOAD_CERTS_CONFIG_PATH, content: renderUploadCertsConfig(input, { mode: 'redacted' }) },
    ];
  },
  async run({ state, signal }) {
    const renewed = await renewCertificateKey(
      state.get('rotation'),
      state.get('current').controlPlane,
      state.get('plan').certificateKey,
      signal,
    );
    state.set({ renewedCertificateKey: renewed, certificateKeyExpiresAt: renewed.expiresAt });
    await recordStamp(state, signal);
    return undefined;
  },
  cleanup: {
    describe: `remove ${UPLOAD_CERTS_CONFIG_PATH} (it holds the new certificate key)`,
    run: async ({ deps }) => deps.fs.remove(UPLOAD_CERTS_CONFIG_PATH),
    removesSecrets: true,
  },
};

export const listExpiredTokens: RotateStep = {
  name: 'list-expired-tokens',
  kind: 'read',
  describe: () => "list kboot's expired bootstrap tokens (kubeadm token list)",
  // Housekeeping on runs that renew the token (kube-controller-manager's tokencleaner deletes
  // expired tokens too; this covers clusters without it).
  skip: (state) => (state.get('plan').token.renew ? undefined : 'no token renewed this run'),
  async run({ state, signal }) {
    // Never the token published now or the one it replaces, which stays valid until it expires.
    const current = state.get('current').join;
    const keep = [
      state.peek('renewedToken')?.tokenId,
      current.state === 'present' ? tokenId(current.value.token) : undefined,
    ].filter((id): id is string => id !== undefined);
    state.set({ expiredTokenIds: await expiredTokenIds(state.get('rotation'), keep, signal) });
    return undefined;
  },
};

export const deleteExpiredTokens: RotateStep = {
  name: 'delete-expired-tokens',
  kind: 'change',
  describe: (state) =>
    `delete expired kboot bootstrap tokens ${(state.peek('expiredTokenIds') ?? []).join(', ')}`,
  skip: (state) => ((state.peek('expiredTokenIds') ?? []).length > 0 ? undefined : 'no expired kboot token'),
  noUndo: 'an expired token is of no use: deleting it needs no undo',
  async run({ state, signal }) {
    state.set({
      deletedTokenIds: await deleteTokens(state.get('rotation'), state.get('expiredTokenIds'), signal),
    });
    return undefined;
  },
};
