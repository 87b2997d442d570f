/** Steps the boot flows share. */

import path from 'node:path';
import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError } from '../../core/errors.js';
import { checkCertificateKeyFresh, checkJoinFresh } from '../join/freshness.js';
import type { ControlPlaneSecret, JoinSecret } from '../join/material.js';
import type { JoinMaterialStore } from '../join/store.js';
import { type KubeadmOverride, parseOverrides } from '../kubeadm/overrides.js';
import {
  type KubeadmApiVersion,
  type KubeVersion,
  kubeadmConfigApiVersion,
  parseKubeadmVersionOutput,
} from '../kubeadm/version.js';
import type { ClusterRecord, SecretVersions } from '../state/cluster-record.js';
import type { ClusterRecordReader } from '../state/cluster-store.js';
import { jitteredMs, progressTicker } from '../state/polling.js';
import type { FlowDeps } from './deps.js';
import { DEFAULT_PATCHES_DIR } from './paths.js';

export interface LocalKubeadm {
  version: KubeVersion;
  apiVersion: KubeadmApiVersion;
}

/** The kubeadm on this machine, and the config API version it reads. */
export async function localKubeadm(deps: FlowDeps, signal: AbortSignal): Promise<LocalKubeadm> {
  const stdout = await deps.kubeadm.run(['version', '-o', 'short'], {
    // Instant on a healthy machine; generous so a CPU-starved boot (every unit starting at once)
    // does not fail on it.
    timeoutMs: 120_000,
    signal,
  });
  const version = parseKubeadmVersionOutput(stdout);
  return { version, apiVersion: kubeadmConfigApiVersion(version) };
}

/** User overrides of the kubeadm config: every *.yaml/*.yml in the patches directory, in name order. */
export async function readKubeadmOverrides(deps: FlowDeps): Promise<KubeadmOverride[]> {
  const dir = deps.config.kubeadm?.patchesDir ?? DEFAULT_PATCHES_DIR;
  const overrides: KubeadmOverride[] = [];
  for (const name of await deps.fs.list(dir)) {
    if (!/\.ya?ml$/.test(name)) continue;
    const file = path.posix.join(dir, name);
    const text = await deps.fs.readText(file);
    if (text !== undefined) overrides.push(...parseOverrides(text, file));
  }
  if (overrides.length > 0)
    deps.logger.info({ dir, count: overrides.length }, 'applying kubeadm config overrides');
  return overrides;
}

/**
 * Polls `read` until `fresh` says the material has enough life left, or the deadline passes: a
 * joiner that finds expired material waits for `kboot rotate` on a control-plane instance
 * instead of failing blindly. The first read is the only one when the material is fresh.
 */
async function waitForFresh<T>(
  deps: FlowDeps,
  what: string,
  deadlineMs: number,
  signal: AbortSignal,
  read: () => Promise<T>,
  fresh: (material: T) => { state: string; expiresAtMs: number },
): Promise<T> {
  const due = progressTicker();
  for (;;) {
    const material = await read();
    const freshness = fresh(material);
    if (freshness.state === 'fresh') return material;
    const nowMs = deps.clock.nowMs();
    if (nowMs >= deadlineMs) {
      throw new ClusterTimeoutError(
        `the ${what} in Secrets Manager is ${freshness.state} (expires ${new Date(freshness.expiresAtMs).toISOString()}) and was not renewed in time`,
        {
          hint: "run 'kboot rotate' on a control-plane instance (its systemd timer should), then boot again",
        },
      );
    }
    if (due(nowMs)) {
      deps.logger.info(
        { what, state: freshness.state, waitedFor: formatDurationMs(deadlineMs - nowMs) },
        `the ${what} is ${freshness.state}; waiting for kboot rotate on a control-plane instance to renew it`,
      );
    }
    await deps.clock.sleepMs(
      Math.min(jitteredMs(deps.settings.pollMs * 5), Math.max(0, deadlineMs - nowMs)),
      signal,
    );
  }
}

/**
 * Where the join material to read is: the cluster record read last (its joinMaterial.versions
 * name the secret versions published under the lease's fence), and how to read it again. Each
 * retry after the first re-reads the record, so a rotation's newly recorded version is found.
 */
export interface PinnedMaterial {
  record: ClusterRecord;
  records: ClusterRecordReader;
}

function pinnedVersions(
  pinned: PinnedMaterial,
  cluster: string,
  signal: AbortSignal,
): () => Promise<SecretVersions | undefined> {
  let known: ClusterRecord | undefined = pinned.record;
  return async () => {
    const record = known ?? (await pinned.records.readRecord(cluster, signal));
    known = undefined;
    return record?.joinMaterial?.versions;
  };
}

export function readFreshJoin(
  deps: FlowDeps,
  store: JoinMaterialStore,
  cluster: string,
  deadlineMs: number,
  signal: AbortSignal,
  pinned: PinnedMaterial,
): Promise<JoinSecret> {
  const versions = pinnedVersions(pinned, cluster, signal);
  return waitForFresh(
    deps,
    'bootstrap token',
    deadlineMs,
    signal,
    async () => store.readJoin(cluster, (await versions())?.join),
    (join) => checkJoinFresh(join, deps.clock.nowMs(), deps.settings.minMaterialLifeMs),
  );
}

export function readFreshControlPlane(
  deps: FlowDeps,
  store: JoinMaterialStore,
  cluster: string,
  deadlineMs: number,
  signal: AbortSignal,
  pinned: PinnedMaterial,
): Promise<ControlPlaneSecret> {
  const versions = pinnedVersions(pinned, cluster, signal);
  return waitForFresh(
    deps,
    'certificate key',
    deadlineMs,
    signal,
    async () => store.readControlPlane(cluster, (await versions())?.controlPlane),
    (material) => checkCertificateKeyFresh(material, deps.clock.nowMs(), deps.settings.minMaterialLifeMs),
  );
}

/**
 * `kubeadm reset -f` after a failure, so the next attempt starts clean; its own failure is logged
 * only. `signal`: the undo budget's in an undo (never the flow's, which is aborted by then), the
 * step's in a reset-partial step. A reset stopped by its signal throws: the step did not finish,
 * and the next run resets again.
 */
export async function resetAfterFailure(deps: FlowDeps, why: string, signal?: AbortSignal): Promise<void> {
  deps.logger.warn({ why }, 'cleaning up with kubeadm reset -f');
  try {
    await deps.kubeadm.run(['reset', '-f'], {
      timeoutMs: 120_000,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    deps.logger.error({ err: error }, 'kubeadm reset failed; clean up this node by hand before retrying');
  }
}
