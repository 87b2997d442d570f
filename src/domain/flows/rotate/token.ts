/**
 * The bootstrap token half of rotate: a new token with `kubeadm token create --config` (0600
 * file), published to the join secret (the previous token stays valid until it expires); the
 * expired kboot tokens deleted afterwards.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { IncompatibleError, KubeadmError } from '../../../core/errors.js';
import type { Secret } from '../../../core/secrets.js';
import { JOIN_MATERIAL_SCHEMA_VERSION, type JoinSecret } from '../../join/material.js';
import { joinSecretId } from '../../join/secret-ids.js';
import { caCertHash } from '../../kubeadm/ca-hash.js';
import { renderTokenCreateConfig } from '../../kubeadm/render.js';
import { parseTokenList } from '../../kubeadm/token-list.js';
import { generateBootstrapToken, tokenId } from '../../kubeadm/tokens.js';
import type { TokenCreateConfigInput } from '../../kubeadm/types.js';
import { apiAddress } from '../../state/cluster-record.js';
import { CA_CERT_PATH } from '../paths.js';
import { expiredKbootTokenIds, KBOOT_TOKEN_DESCRIPTION_PREFIX } from '../rotate-plan.js';
import { type Current, publish } from './material.js';
import {
  iso,
  KUBEADM_API_TIMEOUT_MS,
  type Rotation,
  runKubeadmWithConfig,
  TOKEN_CONFIG_PATH,
} from './rotation.js';

export async function tokenCreateInput(rotation: Rotation, token: Secret): Promise<TokenCreateConfigInput> {
  return {
    apiVersion: (await rotation.kubeadm()).apiVersion,
    kubernetesVersion: rotation.record.kubernetesVersion,
    bootstrapTokens: [
      {
        token,
        ttlMs: rotation.options.tokenTtlMs,
        description: `${KBOOT_TOKEN_DESCRIPTION_PREFIX} created by ${rotation.owner} (kboot rotate)`,
      },
    ],
  };
}

/** The join secret to publish with a new token: the current one's other fields, else rebuilt. */
async function joinSecretWith(
  rotation: Rotation,
  current: Current<JoinSecret>,
  token: Secret,
  tokenExpiresAt: string,
): Promise<JoinSecret> {
  const updatedAt = iso(rotation.deps.clock.nowMs());
  if (current.state === 'present') return { ...current.value, token, tokenExpiresAt, updatedAt };
  // Missing or unreadable: rebuild it from the record and this master's CA, as bootstrap did.
  const caPem = await rotation.deps.fs.readText(CA_CERT_PATH);
  if (caPem === undefined) {
    throw new IncompatibleError(
      `${CA_CERT_PATH} is missing on this control-plane member, so kboot cannot rebuild the join secret`,
      { hint: 'restore the cluster CA on this node, or run kboot rotate on another control-plane member' },
    );
  }
  const endpoint = apiAddress(rotation.record.apiEndpoint);
  return {
    schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
    apiEndpoint: `${endpoint.host}:${endpoint.port}`,
    token,
    tokenExpiresAt,
    caCertHashes: [caCertHash(caPem, CA_CERT_PATH)],
    kubernetesVersion: rotation.record.kubernetesVersion,
    updatedAt,
  };
}

export async function renewToken(
  rotation: Rotation,
  current: Current<JoinSecret>,
  signal: AbortSignal,
): Promise<{ tokenId: string; expiresAt: string }> {
  const { deps, cluster } = rotation;
  const token = generateBootstrapToken();
  const id = tokenId(token);
  // Measured before kubeadm runs, so the published expiry is never later than kubeadm's.
  const expiresAt = iso(deps.clock.nowMs() + rotation.options.tokenTtlMs);
  deps.logger.info(
    { cluster, tokenId: id, ttl: formatDurationMs(rotation.options.tokenTtlMs) },
    'creating a new bootstrap token',
  );
  await runKubeadmWithConfig(
    rotation,
    TOKEN_CONFIG_PATH,
    renderTokenCreateConfig(await tokenCreateInput(rotation, token)),
    (file) => ['token', 'create', '--config', file],
    signal,
  );
  signal.throwIfAborted();
  const join = await joinSecretWith(rotation, current, token, expiresAt);
  await publish(rotation, { join });
  deps.logger.info(
    { cluster, secretId: joinSecretId(cluster), tokenId: id, tokenExpiresAt: expiresAt },
    'published the new bootstrap token; the previous one stays valid until it expires',
  );
  return { tokenId: id, expiresAt };
}

/** Lists tokens (ids and expiries only are kept) and picks kboot's expired ones; a failure only warns. */
export async function expiredTokenIds(
  rotation: Rotation,
  keepIds: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const { deps } = rotation;
  let stdout: string;
  try {
    stdout = await deps.kubeadm.run(['token', 'list', '-o', 'json'], {
      timeoutMs: KUBEADM_API_TIMEOUT_MS,
      signal,
    });
  } catch (error) {
    if (!(error instanceof KubeadmError) || signal.aborted) throw error;
    deps.logger.warn(
      { err: error },
      "could not list bootstrap tokens; expired ones stay until the next run (kube-controller-manager's tokencleaner removes them too)",
    );
    return [];
  }
  return expiredKbootTokenIds(parseTokenList(stdout), deps.clock.nowMs(), keepIds);
}

export async function deleteTokens(
  rotation: Rotation,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const { deps } = rotation;
  const deleted: string[] = [];
  for (const id of ids) {
    try {
      await deps.kubeadm.run(['token', 'delete', id], { timeoutMs: KUBEADM_API_TIMEOUT_MS, signal });
      deleted.push(id);
    } catch (error) {
      if (!(error instanceof KubeadmError) || signal.aborted) throw error;
      deps.logger.warn({ err: error, tokenId: id }, 'could not delete an expired bootstrap token');
    }
  }
  if (deleted.length > 0) deps.logger.info({ tokenIds: deleted }, 'deleted expired kboot bootstrap tokens');
  return deleted;
}

/** For a dry run: a token that is never used, so the rendered config has the right shape. */
export function sampleToken(): Secret {
  return generateBootstrapToken();
}
