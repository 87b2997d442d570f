/**
 * Where the cleanup of lost instances runs:
 * - `kboot cleanup` on a control-plane member (operators; --dry-run shows the plan);
 * - `kboot rotate`, on its timer, under the rotate lease (one master at a time); a failure there
 *   is logged and rotate goes on (its join material matters more);
 * - before every control-plane join (join-master, holding the control-plane-join lease): etcd
 *   refuses to add a member while the started members would be fewer than the new quorum, so a
 *   dead member left behind by a terminated master blocks the join of its replacement. The
 *   joiner has no etcd client certificate before kubeadm join downloads the control-plane
 *   certificates, so when the member registry shows a control-plane instance gone, it runs
 *   kubeadm's own `join phase control-plane-prepare download-certs` and `certs` first (the same
 *   files kubeadm join writes a moment later, with the certificate key it already holds), cleans
 *   up with them, then joins (README "Cleaning up after lost instances" says why this way).
 */

import { formatDurationMs } from '../../core/duration.js';
import { StateConflictError } from '../../core/errors.js';
import type { FlowDeps } from '../flows/deps.js';
import type { Steps } from '../flows/steps.js';
import { isGone } from './plan.js';
import type { CleanupWiring } from './ports.js';
import { type CleanupReport, cleanupLostInstances, requireQuorum } from './run.js';

/** etcd's client port on every control-plane member (kubeadm's stacked etcd). */
export const ETCD_CLIENT_PORT = 2379;

function wiring(deps: FlowDeps): CleanupWiring {
  if (deps.cleanup === undefined) {
    throw new StateConflictError('the cleanup of lost instances is not wired in this build', {
      hint: 'report this as a bug',
    });
  }
  return deps.cleanup;
}

export interface CleanupRunOptions {
  dryRun: boolean;
  /** Also delete Node objects (needs kubectl and the admin kubeconfig). */
  nodes: boolean;
  /** etcd endpoints (default: KBOOT_ETCD_ENDPOINTS, else this member's loopback). */
  endpoints?: readonly string[];
  /** Rounds over the etcd endpoints per call. */
  etcdRounds?: number;
}

/** One cleanup on this control-plane member with the real ports. */
export async function runCleanup(
  deps: FlowDeps,
  cluster: string,
  options: CleanupRunOptions,
): Promise<CleanupReport> {
  const wired = wiring(deps);
  const [instances, etcd, nodes] = await Promise.all([
    wired.instances(),
    wired.etcd({
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
      ...(options.etcdRounds === undefined ? {} : { rounds: options.etcdRounds }),
    }),
    options.nodes ? wired.nodes() : Promise.resolve(undefined),
  ]);
  return cleanupLostInstances(
    { registry: (signal) => wired.registry(cluster, signal), instances, etcd, nodes },
    { cluster, logger: deps.logger, signal: deps.signal, dryRun: options.dryRun },
  );
}

/** In `kboot rotate`: clean up, never fail the rotation for it. Null when it could not run. */
export async function cleanupInRotate(
  deps: FlowDeps,
  steps: Steps,
  cluster: string,
): Promise<CleanupReport | null> {
  if (deps.cleanup === undefined) return null;
  try {
    // One round: on a healthy master etcd answers at once; a dead one waits for the next timer.
    const report = await steps.read('cleanup-lost-instances', () =>
      runCleanup(deps, cluster, { dryRun: steps.dryRun, nodes: true, etcdRounds: 1 }),
    );
    return report;
  } catch (error) {
    if (deps.signal.aborted) throw error;
    deps.logger.warn(
      { err: error, cluster },
      'could not clean up after lost instances; the next kboot rotate tries again (or run kboot cleanup)',
    );
    return null;
  }
}

/**
 * Before a control-plane join, holding the control-plane-join lease. `prepare` runs kubeadm's
 * download-certs and certs phases (it gives this instance the etcd client certificate).
 * Returns the report, or null when the registry shows no control-plane instance gone.
 */
export async function cleanupBeforeJoin(
  deps: FlowDeps,
  cluster: string,
  selfInstanceId: string,
  prepare: () => Promise<void>,
): Promise<CleanupReport | null> {
  if (deps.cleanup === undefined) return null;
  const wired = deps.cleanup;
  const { logger, signal, clock } = deps;
  const startedMs = clock.nowMs();
  const masters = (await wired.registry(cluster, signal)).filter(
    (member) => member.role === 'control-plane' && member.instanceId !== selfInstanceId,
  );
  const instances = await wired.instances();
  const lookup = await instances.lookup(
    { instanceIds: masters.map((member) => member.instanceId), privateDnsNames: [] },
    signal,
  );
  const lost = masters.filter((member) => isGone(lookup.byId.get(member.instanceId)?.state ?? 'absent'));
  if (lost.length === 0) {
    logger.info(
      { masters: masters.length },
      'every recorded control-plane instance still exists; no etcd cleanup before joining',
    );
    return null;
  }
  logger.warn(
    { lost: lost.map((member) => ({ instanceId: member.instanceId, nodeName: member.nodeName })) },
    'control-plane instance(s) of this cluster are gone without leaving; removing their etcd members before joining',
  );
  await prepare();
  const endpoints = masters
    .map((member) => lookup.byId.get(member.instanceId))
    .filter((fact) => fact !== undefined && !isGone(fact.state) && fact.privateIp !== undefined)
    .map((fact) => `https://${fact?.privateIp}:${ETCD_CLIENT_PORT}`);
  const report = requireQuorum(await runCleanup(deps, cluster, { dryRun: false, nodes: false, endpoints }));
  logger.info(
    { outcome: report.outcome, took: formatDurationMs(clock.nowMs() - startedMs) },
    'etcd cleanup before joining done',
  );
  return report;
}

/**
 * kubeadm's first control-plane-prepare phases with the join config: download the shared
 * certificates (etcd CA included) with the certificate key, then make this node's certificates,
 * apiserver-etcd-client among them. kubeadm join runs both again and keeps what is valid.
 */
export async function prepareEtcdClient(
  deps: FlowDeps,
  configPath: string,
  signal: AbortSignal,
): Promise<void> {
  const config = deps.fs.resolve(configPath);
  for (const phase of ['download-certs', 'certs']) {
    await deps.kubeadm.run(['join', 'phase', 'control-plane-prepare', phase, '--config', config], {
      timeoutMs: 2 * 60_000,
      signal,
    });
  }
}
