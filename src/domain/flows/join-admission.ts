/**
 * May this instance join now? Outside an upgrade, the skew check as it always was (kubeadm's minor
 * equals the cluster's; no extra read). While the record carries an `upgrade`, the upgrade's join
 * rule (../upgrade/join-rule.ts): a control plane at the target joins, one at the old version is
 * refused; a worker at the old version joins; a worker at the target waits, polling the record and
 * the members in one read (the control plane's versions are in the member items), until every
 * control-plane member runs the target — or the roll has left its control-plane phase, or is done;
 * anything else is refused. A wait only reads: a stop while waiting leaves nothing behind.
 */

import { formatDurationMs } from '../../core/duration.js';
import {
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  IncompatibleError,
  StateConflictError,
} from '../../core/errors.js';
import {
  assertVersionSkew,
  formatKubeVersion,
  type KubeVersion,
  parseKubernetesVersion,
  type SkewAction,
  tryParseKubeVersion,
} from '../kubeadm/version.js';
import type { ClusterRecord } from '../state/cluster-record.js';
import type { MemberRecord } from '../state/member.js';
import { jitteredMs, progressTicker } from '../state/polling.js';
import { joinDecision } from '../upgrade/join-rule.js';
import type { FlowDeps } from './deps.js';

export interface JoinAdmission {
  action: Exclude<SkewAction, 'init'>;
  clusterName: string;
  kubeadm: KubeVersion;
  /** The record read last (initialized). */
  record: ClusterRecord;
  /** Outside an upgrade: the version the skew check compares with (the record's by default). */
  clusterVersion?: string;
  signal: AbortSignal;
}

export interface Admitted {
  /** The record the decision was made on: newer than the one given when the worker waited. */
  record: ClusterRecord;
  /** How long the worker waited (slept) for the control plane; 0 when it did not. */
  waitedMs: number;
}

const ROLE_WORDS = { 'join-control-plane': 'a control-plane member', 'join-worker': 'a worker' } as const;

function upgrading(record: ClusterRecord): boolean {
  return record.upgrade !== undefined && record.upgrade.phase !== 'done';
}

/** The versions of the control-plane members; one recorded before versions were runs the upgrade's `from`. */
export function controlPlaneVersions(members: readonly MemberRecord[], record: ClusterRecord): KubeVersion[] {
  const fallback = record.upgrade?.from.kubernetesVersion ?? record.kubernetesVersion;
  return members
    .filter((member) => member.role === 'control-plane')
    .map((member) => tryParseKubeVersion(member.kubernetesVersion ?? fallback))
    .filter((version): version is KubeVersion => version !== undefined);
}

function refusal(input: JoinAdmission, record: ClusterRecord, reason: string): IncompatibleError {
  const upgrade = record.upgrade;
  const target = upgrade === undefined ? record.kubernetesVersion : upgrade.to.kubernetesVersion;
  const hint =
    input.action === 'join-control-plane'
      ? `launch control-plane instances from the upgrade's target AMI (kubeadm ${target}; 'kboot status --cluster ${input.clusterName}' shows the upgrade)`
      : `launch this worker from an AMI with kubeadm ${upgrade?.from.kubernetesVersion ?? record.kubernetesVersion} or ${target} ('kboot status --cluster ${input.clusterName}' shows the upgrade)`;
  return new IncompatibleError(
    `this instance cannot join cluster "${input.clusterName}" as ${ROLE_WORDS[input.action]}: ${reason}`,
    {
      hint,
      details: {
        action: input.action,
        kubeadmVersion: formatKubeVersion(input.kubeadm),
        ...(upgrade === undefined
          ? { clusterVersion: record.kubernetesVersion }
          : { upgradeFrom: upgrade.from.kubernetesVersion, upgradeTo: upgrade.to.kubernetesVersion }),
      },
    },
  );
}

/** Throws when this instance may not join; waits (a worker at an upgrade's target) while it must. */
export async function admitJoin(deps: FlowDeps, input: JoinAdmission): Promise<Admitted> {
  if (!upgrading(input.record)) {
    assertVersionSkew({
      action: input.action,
      kubeadm: input.kubeadm,
      cluster: parseKubernetesVersion(
        input.clusterVersion || input.record.kubernetesVersion,
        'the cluster version',
      ),
      clusterName: input.clusterName,
    });
    return { record: input.record, waitedMs: 0 };
  }
  const { logger, clock } = deps;
  const startMs = clock.nowMs();
  const deadlineMs = startMs + deps.settings.waitTimeoutMs;
  const due = progressTicker();
  let record = input.record;
  let members: MemberRecord[] | undefined;
  let slept = false;
  let read: ((signal: AbortSignal) => Promise<ReadState>) | undefined;
  for (;;) {
    const decision = joinDecision({
      action: input.action,
      kubeadm: input.kubeadm,
      record,
      controlPlaneVersions: members === undefined ? [] : controlPlaneVersions(members, record),
    });
    if (decision.decision === 'join') {
      const waitedMs = slept ? clock.nowMs() - startMs : 0;
      if (members !== undefined)
        logger.info({ waitedMs }, 'every control-plane member runs this version; joining');
      return { record, waitedMs };
    }
    if (decision.decision === 'refuse') throw refusal(input, record, decision.reason);
    // A wait: the first one reads the members at once (the record alone cannot tell).
    if (members !== undefined) {
      if (deps.settings.dryRun) {
        logger.info(`dry run: ${decision.reason}; a boot would wait here`);
        return { record, waitedMs: 0 };
      }
      const nowMs = clock.nowMs();
      if (nowMs >= deadlineMs) {
        throw new ClusterTimeoutError(
          `waited ${formatDurationMs(nowMs - startMs)} to join cluster "${input.clusterName}": ${decision.reason}`,
          {
            hint: `the upgrade replaces the control plane first ('kboot status --cluster ${input.clusterName}' shows how far it is); boot again once it has, or launch this worker from the old AMI`,
          },
        );
      }
      if (due(nowMs)) {
        logger.info({ waitedMs: nowMs - startMs, leftMs: deadlineMs - nowMs }, `${decision.reason}; waiting`);
      }
      slept = true;
      await clock.sleepMs(
        Math.max(1, Math.min(jitteredMs(deps.settings.pollMs), deadlineMs - nowMs)),
        input.signal,
      );
    }
    read ??= await stateReader(deps, input.clusterName);
    try {
      const state = await read(input.signal);
      record = state.record;
      members = state.members;
    } catch (error) {
      if (!(error instanceof AwsUnavailableError || error instanceof AwsThrottledError)) throw error;
      members ??= [];
      logger.warn({ err: error }, 'could not read the cluster state; retrying');
    }
  }
}

interface ReadState {
  record: ClusterRecord;
  members: MemberRecord[];
}

async function stateReader(
  deps: FlowDeps,
  cluster: string,
): Promise<(signal: AbortSignal) => Promise<ReadState>> {
  const ports = await deps.state();
  return async (signal) => {
    const state = await ports.clusterState.readClusterState(cluster, signal);
    if (state?.recordError !== undefined) throw state.recordError;
    if (state?.record === undefined) {
      throw new StateConflictError(
        `the cluster record of "${cluster}" is gone (the cluster was destroyed?)`,
        {
          hint: `check 'kboot status --cluster ${cluster}'`,
        },
      );
    }
    return { record: state.record, members: state.members };
  };
}
