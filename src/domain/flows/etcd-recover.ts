/**
 * `kboot etcd recover`: on the surviving control-plane member when etcd lost quorum (2 of 3
 * members gone), makes it a new one-member cluster from its own data (nothing lost), as etcd's
 * disaster-recovery guide describes (`--force-new-cluster`), on kubeadm's static Pod:
 *   identity (control-plane, else exit 9) → local-etcd (the manifest; one with the flag already
 *   is a stopped run, resumed) → check-quorum (the members as this one sees them, its status, a
 *   probe of every other member: refused, exit 2, while another member answers or a leader is
 *   there; nothing to do when it is already alone) → save-manifest (a 0600 copy) →
 *   force-new-cluster (the flag added: the kubelet restarts etcd; undo: the manifest put back) →
 *   wait-one-member (etcd answers as the only member and leads; commits) → drop-flag (kubeadm's
 *   manifest put back, and etcd seen restarted without the flag: a later restart must never force
 *   again once new members joined) → member-records (the dropped members' records removed).
 * Replacements then join as usual (the join lease, kubeadm join).
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import { ClusterTimeoutError, IncompatibleError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { EtcdMember } from '../etcd/members.js';
import {
  decideRecovery,
  hasForceNewCluster,
  type LocalEtcdStatus,
  refusal,
  withForceNewCluster,
  withoutForceNewCluster,
} from '../etcd/recover.js';
import type { Identity } from '../identity/resolve.js';
import type { InstanceFiles } from '../ports/files.js';
import type { MemberRecord } from '../state/member.js';
import type { Flow, Step } from '../steps/step.js';
import { requireRole } from './start-steps.js';

export const ETCD_MANIFEST = '/etc/kubernetes/manifests/etcd.yaml';
/** kubeadm's manifest as it was, kept until the run ends (0600: it names the key files). */
export const SAVED_MANIFEST = '/var/lib/kboot/etcd-recover/etcd.yaml';

export interface RecoveryEtcd {
  /** The members as the local member sees them (answered without quorum). */
  list(signal?: AbortSignal): Promise<EtcdMember[]>;
  status(signal?: AbortSignal): Promise<LocalEtcdStatus>;
  /** Another member, asked at its own client URLs. */
  probe(member: EtcdMember, signal?: AbortSignal): Promise<{ alive: boolean; reason?: string }>;
}

export interface RecoveryMembers {
  list(cluster: string, signal?: AbortSignal): Promise<MemberRecord[]>;
  remove(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void>;
}

export interface RecoverDeps {
  logger: Logger;
  clock: Clock;
  fs: InstanceFiles;
  pollMs: number;
  /** How long etcd may take to come back after each manifest change. */
  waitTimeoutMs: number;
  identity(): Promise<Identity>;
  etcd(): Promise<RecoveryEtcd>;
  members(): Promise<RecoveryMembers>;
}

export interface RecoverResult {
  flow: 'etcd-recover';
  outcome: 'recovered' | 'nothing' | 'planned';
  cluster: string;
  /** The member kept (this one) and the members dropped from etcd's membership. */
  member: string | null;
  dropped: string[];
  removedRecords: string[];
  summary: string;
}

export interface RecoverState {
  identity: Identity;
  cluster: string;
  manifest: string;
  original: string;
  resuming: boolean;
  self: EtcdMember;
  dropped: EtcdMember[];
  term: bigint;
  removedRecords: string[];
  nothing: string;
}

type RecoverStep = Step<RecoverState, RecoverDeps>;

const identity: RecoverStep = {
  name: 'identity',
  kind: 'read',
  describe: () => 'read who this instance is (IMDS: instance, region, tags)',
  async run({ state, deps }) {
    const found = await deps.identity();
    requireRole(
      found,
      'control-plane',
      'kboot etcd recover',
      'run kboot etcd recover on the surviving control-plane member',
    );
    state.set({ identity: found, cluster: found.clusterName });
    return undefined;
  },
};

const localEtcd: RecoverStep = {
  name: 'local-etcd',
  kind: 'read',
  describe: () => `read kubeadm's etcd manifest (${ETCD_MANIFEST})`,
  async run({ state, deps }) {
    const manifest = await deps.fs.readText(ETCD_MANIFEST);
    if (manifest === undefined) {
      throw new IncompatibleError(`${ETCD_MANIFEST} does not exist: this instance runs no etcd member`, {
        hint: 'run kboot etcd recover on the surviving control-plane member (one that joined)',
      });
    }
    const flagged = hasForceNewCluster(manifest, ETCD_MANIFEST);
    // A stopped run saved kubeadm's manifest before adding the flag: that is the one to restore,
    // and its copy says a recovery is under way (even once the flag is gone again).
    const saved = await deps.fs.readText(SAVED_MANIFEST);
    state.set({
      manifest,
      resuming: flagged || saved !== undefined,
      // Byte for byte when it is kubeadm's own: putting it back changes nothing else.
      original: saved ?? (flagged ? withoutForceNewCluster(manifest, ETCD_MANIFEST) : manifest),
    });
    return undefined;
  },
};

const checkQuorum: RecoverStep = {
  name: 'check-quorum',
  kind: 'read',
  describe: () =>
    'check that quorum is lost: no leader, and no other member answering at its client URLs (else refuse, exit 2)',
  async run({ state, deps, logger, signal }) {
    const etcd = await deps.etcd();
    const [members, status] = [await etcd.list(signal), await etcd.status(signal)];
    const others = [];
    for (const member of members.filter((m) => m.id !== status.memberId)) {
      const probe = await etcd.probe(member, signal);
      others.push({ member, ...probe });
      logger.info({ member: member.name, alive: probe.alive, reason: probe.reason }, 'probed etcd member');
    }
    const decision = decideRecovery(members, status, others, state.get('resuming'));
    if (decision.action === 'refuse') throw refusal(decision);
    if (decision.action === 'nothing') {
      state.set({ nothing: decision.reason });
      return { end: decision.reason };
    }
    state.set({ self: decision.self, dropped: decision.dropped, removedRecords: [] });
    return undefined;
  },
};

const saveManifest: RecoverStep = {
  name: 'save-manifest',
  kind: 'change',
  describe: () => `keep kubeadm's etcd manifest at ${SAVED_MANIFEST} (0600) until the recovery ends`,
  noUndo: 'a copy: the cleanup removes it',
  async run({ state, deps }) {
    await deps.fs.writePrivateFile(SAVED_MANIFEST, state.get('original'));
    return undefined;
  },
};

/** Polls until `ready` says etcd is as wanted; the last thing seen is in the timeout's message. */
async function waitFor(
  deps: RecoverDeps,
  signal: AbortSignal,
  what: string,
  ready: (etcd: RecoveryEtcd) => Promise<string | true>,
): Promise<void> {
  const etcd = await deps.etcd();
  const deadline = deps.clock.monotonicMs() + deps.waitTimeoutMs;
  let last = 'no answer yet';
  for (;;) {
    signal.throwIfAborted();
    try {
      const seen = await ready(etcd);
      if (seen === true) return;
      last = seen;
    } catch (error) {
      if (signal.aborted) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (deps.clock.monotonicMs() >= deadline) {
      throw new ClusterTimeoutError(
        `etcd did not ${what} within ${formatDurationMs(deps.waitTimeoutMs)}: ${last}`,
        {
          hint: 'the kubelet restarts etcd when its manifest changes: check it (journalctl -u kubelet, crictl ps --name etcd)',
        },
      );
    }
    await deps.clock.sleepMs(deps.pollMs, signal);
  }
}

const forceNewCluster: RecoverStep = {
  name: 'force-new-cluster',
  kind: 'change',
  describe: () =>
    `add ${'--force-new-cluster'} to etcd's command in ${ETCD_MANIFEST} (the kubelet restarts etcd with it)`,
  async run({ state, deps, logger }) {
    // Already alone (a stopped run got that far): forcing again is not needed.
    if (state.get('dropped').length === 0) {
      logger.info('etcd already runs as the only member; no --force-new-cluster needed');
      return undefined;
    }
    await deps.fs.writePrivateFile(ETCD_MANIFEST, withForceNewCluster(state.get('original'), ETCD_MANIFEST));
    return undefined;
  },
  undo: {
    describe:
      "put kubeadm's manifest back (an etcd that already restarted with the flag stays a one-member cluster)",
    async run({ state, deps }) {
      await deps.fs.writePrivateFile(ETCD_MANIFEST, state.get('original'));
    },
  },
};

const waitOneMember: RecoverStep = {
  name: 'wait-one-member',
  kind: 'change',
  describe: (state) =>
    `wait until etcd answers as the only member and leads (the others dropped: ${(state.peek('dropped') ?? []).map((m) => m.name).join(', ') || 'none'})`,
  commits: 'etcd runs as a one-member cluster: the dropped members are out of its membership for good',
  async run({ state, deps, signal }) {
    const selfId = state.get('self').id;
    await waitFor(deps, signal, 'come back as a one-member cluster', async (etcd) => {
      const [members, status] = [await etcd.list(signal), await etcd.status(signal)];
      if (members.length !== 1 || members[0]?.id !== selfId) return `${members.length} member(s)`;
      if (status.leader !== selfId) return `leader ${status.leader}`;
      state.set({ term: BigInt(status.raftTerm) });
      return true;
    });
    return undefined;
  },
};

const dropFlag: RecoverStep = {
  name: 'drop-flag',
  kind: 'change',
  describe: () =>
    "put kubeadm's manifest back without --force-new-cluster, and wait until etcd restarted without it (a later restart must never force again)",
  noUndo: 'the manifest is kubeadm’s own again',
  async run({ state, deps, signal, logger }) {
    const original = state.get('original');
    if ((await deps.fs.readText(ETCD_MANIFEST)) === original) {
      // A stopped run put it back already: the kubelet restarts etcd from it (it changed then).
      logger.info("kubeadm's etcd manifest is already back; not waiting for a restart");
      return undefined;
    }
    await deps.fs.writePrivateFile(ETCD_MANIFEST, original);
    const selfId = state.get('self').id;
    const term = state.get('term');
    await waitFor(deps, signal, 'restart without --force-new-cluster', async (etcd) => {
      const status = await etcd.status(signal);
      // A restarted one-member etcd elects itself again: a larger term.
      if (BigInt(status.raftTerm) <= term) return `still term ${status.raftTerm} (not restarted yet)`;
      return status.leader === selfId ? true : `leader ${status.leader}`;
    });
    return undefined;
  },
};

const memberRecords: RecoverStep = {
  name: 'member-records',
  kind: 'change',
  describe: (state) =>
    `remove the control-plane member records whose node is no etcd member any more (${(state.peek('dropped') ?? []).map((m) => m.name).join(', ') || 'none dropped now'}) from cluster ${state.peek('cluster') ?? '?'}'s partition`,
  noUndo: 'their etcd members are gone: their records would only mislead',
  async run({ state, deps, logger, signal }) {
    // Every control-plane record whose node is no etcd member now: the members dropped by this
    // run, or by a stopped one (whose dropped members this run no longer sees).
    const current = new Set((await (await deps.etcd()).list(signal)).map((member) => member.name));
    const registry = await deps.members();
    const cluster = state.get('cluster');
    const records = await registry.list(cluster, signal);
    const self = state.get('identity').instance.instanceId;
    const removed: string[] = [];
    for (const record of records) {
      if (record.role !== 'control-plane' || record.instanceId === self) continue;
      if (record.nodeName === undefined || current.has(record.nodeName)) continue;
      await registry.remove(cluster, record.instanceId, signal);
      removed.push(record.instanceId);
    }
    state.set({ removedRecords: removed });
    logger.info({ removed }, 'member records of the dropped etcd members removed');
    return undefined;
  },
};

const cleanupSaved: RecoverStep = {
  name: 'forget-saved-manifest',
  kind: 'change',
  describe: () => `remove ${SAVED_MANIFEST}`,
  noUndo: 'nothing left to restore',
  async run({ deps }) {
    await deps.fs.remove(SAVED_MANIFEST);
    return undefined;
  },
};

export const etcdRecoverFlow: Flow<RecoverState, RecoverDeps, RecoverResult> = {
  name: 'etcd-recover',
  steps: [
    identity,
    localEtcd,
    checkQuorum,
    saveManifest,
    forceNewCluster,
    waitOneMember,
    dropFlag,
    memberRecords,
    cleanupSaved,
  ],
  result(state, run) {
    const cluster = state.peek('cluster') ?? '';
    const self = state.peek('self');
    const dropped = (state.peek('dropped') ?? []).map((member) => member.name);
    const base = {
      flow: 'etcd-recover' as const,
      cluster,
      member: self?.name ?? null,
      dropped,
      removedRecords: state.peek('removedRecords') ?? [],
    };
    const nothing = state.peek('nothing');
    if (nothing !== undefined) return { ...base, outcome: 'nothing', summary: nothing };
    if (run.dryRun) return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
    return {
      ...base,
      outcome: 'recovered',
      summary: `etcd of cluster ${cluster} is a one-member cluster on ${self?.name ?? '?'} (dropped: ${dropped.join(', ') || 'none'}); replacements can join`,
    };
  },
};
