/** Steps the boot flows share. */

import path from 'node:path';
import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError, IncompatibleError } from '../../core/errors.js';
import type { Identity } from '../identity/resolve.js';
import type { Role } from '../identity/tags.js';
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
import { jitteredMs, progressTicker } from '../state/polling.js';
import type { FlowDeps, FlowName, FlowResult } from './deps.js';
import { type MembershipState, readMembership } from './membership.js';
import { DEFAULT_PATCHES_DIR } from './paths.js';
import type { Steps } from './steps.js';

export interface LocalKubeadm {
  version: KubeVersion;
  apiVersion: KubeadmApiVersion;
}

/** The kubeadm on this machine, and the config API version it reads. */
export async function localKubeadm(deps: FlowDeps): Promise<LocalKubeadm> {
  const stdout = await deps.kubeadm.run(['version', '-o', 'short'], {
    // Instant on a healthy machine; generous so a CPU-starved boot (every unit starting at once)
    // does not fail on it.
    timeoutMs: 120_000,
    signal: deps.signal,
  });
  const version = parseKubeadmVersionOutput(stdout);
  return { version, apiVersion: kubeadmConfigApiVersion(version) };
}

export interface FlowStart {
  identity: Identity;
  /** The fields every FlowResult of this run shares. */
  base: Pick<FlowResult, 'flow' | 'cluster' | 'role' | 'instanceId'>;
  membership: MembershipState;
  /** Set when this instance is already a member: the flow returns it and does nothing else. */
  alreadyMember: FlowResult | undefined;
}

/** What every flow does first: who am I, am I allowed to run this, have I already joined? */
export async function startFlow(
  deps: FlowDeps,
  steps: Steps,
  flow: FlowName,
  role: Role,
): Promise<FlowStart> {
  const identity = await steps.read('identity', () => deps.identity());
  requireRole(identity, role, `kboot ${flow}`);
  const cluster = identity.clusterName;
  const base = { flow, cluster, role: identity.role, instanceId: identity.instance.instanceId };
  const membership = await steps.read('membership', () => readMembership(deps.fs, cluster));
  let alreadyMember: FlowResult | undefined;
  if (membership.state === 'member') {
    deps.logger.info(
      { joinedAt: membership.membership.joinedAt },
      'already a member of the cluster; nothing to do',
    );
    const what = role === 'worker' ? 'a worker' : 'a control-plane member';
    alreadyMember = { ...base, outcome: 'already-member', summary: `already ${what} of cluster ${cluster}` };
  }
  return { identity, base, membership, alreadyMember };
}

/** The instance must carry the role the command was asked to act as. */
function requireRole(identity: Identity, role: Role, command: string): void {
  if (identity.role === role) return;
  throw new IncompatibleError(`this instance is tagged ${identity.role}, so it cannot run '${command}'`, {
    hint:
      identity.role === 'worker'
        ? "run 'kboot join-node' (or 'kboot boot', which picks the flow from the role tag)"
        : "run 'kboot join-master' or 'kboot bootstrap-master' (or 'kboot boot')",
  });
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
      deps.signal,
    );
  }
}

export function readFreshJoin(
  deps: FlowDeps,
  store: JoinMaterialStore,
  cluster: string,
  deadlineMs: number,
): Promise<JoinSecret> {
  return waitForFresh(
    deps,
    'bootstrap token',
    deadlineMs,
    () => store.readJoin(cluster),
    (join) => checkJoinFresh(join, deps.clock.nowMs(), deps.settings.minMaterialLifeMs),
  );
}

export function readFreshControlPlane(
  deps: FlowDeps,
  store: JoinMaterialStore,
  cluster: string,
  deadlineMs: number,
): Promise<ControlPlaneSecret> {
  return waitForFresh(
    deps,
    'certificate key',
    deadlineMs,
    () => store.readControlPlane(cluster),
    (material) => checkCertificateKeyFresh(material, deps.clock.nowMs(), deps.settings.minMaterialLifeMs),
  );
}

/** `kubeadm reset -f` after a failure, so the next attempt starts clean; its own failure is logged only. */
export async function resetAfterFailure(deps: FlowDeps, why: string): Promise<void> {
  deps.logger.warn({ why }, 'cleaning up with kubeadm reset -f');
  try {
    await deps.kubeadm.run(['reset', '-f'], { timeoutMs: 120_000 });
  } catch (error) {
    deps.logger.error({ err: error }, 'kubeadm reset failed; clean up this node by hand before retrying');
  }
}
