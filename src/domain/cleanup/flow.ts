/**
 * Where the cleanup of lost instances runs:
 * - `kboot cleanup` on a control-plane member (operators; --dry-run shows the plan; the flow is
 *   src/domain/flows/cleanup.ts);
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
import type { FlowDeps } from '../flows/deps.js';
import { acquireLease, holdAcquired } from '../state/hold-lease.js';
import { isGone } from './plan.js';
import { type CleanupReport, cleanupLostInstances, requireQuorum } from './run.js';

/** etcd's client port on every control-plane member (kubeadm's stacked etcd). */
export const ETCD_CLIENT_PORT = 2379;

export interface CleanupRunOptions {
  dryRun: boolean;
  /** Also delete Node objects (needs kubectl and the admin kubeconfig). */
  nodes: boolean;
  /** etcd endpoints (default: KBOOT_ETCD_ENDPOINTS, else this member's loopback). */
  endpoints?: readonly string[];
  /** Rounds over the etcd endpoints per call. */
  etcdRounds?: number;
  /** Aborts the run (the flow was stopped, or the lease it runs under was lost). */
  signal: AbortSignal;
}

/** Long enough for a cleanup (seconds), renewed while it runs; a dead holder frees it soon. */
export const CLEANUP_LEASE_MS = 2 * 60_000;

/** One cleanup on this control-plane member with the real ports. */
export async function runCleanup(
  deps: FlowDeps,
  cluster: string,
  options: CleanupRunOptions,
): Promise<CleanupReport> {
  const wired = deps.cleanup;
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
    { cluster, logger: deps.logger, signal: options.signal, dryRun: options.dryRun },
  );
}

/**
 * In `kboot rotate`, first: what a cleanup would remove (reads only; one round over etcd: on a
 * healthy master it answers at once). Null when it could not tell (logged; the next timer tries
 * again): never fail the rotation for it.
 */
export async function planCleanupInRotate(
  deps: FlowDeps,
  cluster: string,
  signal: AbortSignal,
): Promise<CleanupReport | null> {
  try {
    return await runCleanup(deps, cluster, { dryRun: true, nodes: true, etcdRounds: 1, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    deps.logger.warn(
      { err: error, cluster },
      'could not check for lost instances; the next kboot rotate tries again (or run kboot cleanup)',
    );
    return null;
  }
}

/**
 * In `kboot rotate`, when the plan found something: clean up under the control-plane-join lease
 * (etcd membership changes one at a time), trying it once; never fail the rotation for it. Null
 * when it did not run: a master joining holds the lease (and cleans up itself), or it failed
 * (logged; the next timer tries again).
 */
export async function cleanupInRotate(
  deps: FlowDeps,
  cluster: string,
  owner: string,
  signal: AbortSignal,
): Promise<CleanupReport | null> {
  try {
    const state = await deps.state();
    const lock = state.lock(cluster, 'control-plane-join');
    const options = {
      owner,
      clock: deps.clock,
      logger: deps.logger,
      leaseMs: CLEANUP_LEASE_MS,
      pollMs: deps.settings.pollMs,
      // A joining master holds it for minutes: skip at once rather than watch it.
      watchHeld: false,
      signal,
    };
    const acquired = await acquireLease(lock, options);
    if (!acquired.acquired) {
      deps.logger.info(
        { cluster, holder: acquired.current.owner },
        'a master is joining; it cleans up before it joins, so rotate skips the cleanup this time',
      );
      return null;
    }
    const holding = holdAcquired(lock, acquired.lease, options);
    try {
      // One round: on a healthy master etcd answers at once; a dead one waits for the next timer.
      return await runCleanup(deps, cluster, {
        dryRun: false,
        nodes: true,
        etcdRounds: 1,
        signal: AbortSignal.any([signal, holding.lost]),
      });
    } finally {
      await holding.release();
    }
  } catch (error) {
    if (signal.aborted) throw error;
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
  signal: AbortSignal,
  prepare: () => Promise<void>,
): Promise<CleanupReport | null> {
  const wired = deps.cleanup;
  const { logger, clock } = deps;
  const startedMs = clock.nowMs();
  const masters = (await wired.registry(cluster, signal)).filter(
    (member) => member.role === 'control-plane' && member.instanceId !== selfInstanceId,
  );
  const instances = await wired.instances();
  const lookup = await instances.lookup(
    { cluster, instanceIds: masters.map((member) => member.instanceId), privateDnsNames: [] },
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
  const report = requireQuorum(
    await runCleanup(deps, cluster, { dryRun: false, nodes: false, endpoints, signal }),
  );
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
