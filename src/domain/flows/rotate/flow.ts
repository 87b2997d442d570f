/**
 * `kboot rotate`: keeps join material fresh so a master or node can join a cluster of any age.
 * Run on control-plane members by a systemd timer (every 15 minutes); one master acts at a time.
 *   identity (control-plane, else exit 9) → a member? (not yet: exit 0, nothing to do) → the
 *   cluster record (initialized) → this member's kubeadm certificates checked and reported, parked
 *   manifests put back (certificates.ts) → the `rotate` lease, tried once (held by another master: exit 0)
 *   → the join and control-plane secrets read and the decision made (rotate-plan.ts) → token
 *   renewed (token.ts) → certificate key renewed (certificate-key.ts) → this member's kubeadm
 *   certificates renewed and its static Pods restarted, when due (certificates.ts) → expired kboot tokens
 *   deleted → lost instances cleaned up (under the
 *   control-plane-join lease, tried once) → the lease released.
 * The secret-bearing kubeadm config files are removed after each use and again as the flow unwinds.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { StateConflictError } from '../../../core/errors.js';
import { cleanupInRotate, planCleanupInRotate } from '../../cleanup/flow.js';
import { type CleanupReport, needsCleanup } from '../../cleanup/run.js';
import { controlPlaneSecretId, joinSecretId } from '../../join/secret-ids.js';
import { renderTokenCreateConfig, renderUploadCertsConfig } from '../../kubeadm/render.js';
import { tokenId } from '../../kubeadm/tokens.js';
import type { ClusterRecord, JoinMaterialStamp } from '../../state/cluster-record.js';
import { describeHolder, leaseLabel } from '../../state/lease.js';
import { leaseStep } from '../../steps/lease-step.js';
import type { FlowState } from '../../steps/state.js';
import type { Flow, Step } from '../../steps/step.js';
import { localKubeadm } from '../common.js';
import type { FlowDeps } from '../deps.js';
import { readMembership } from '../membership.js';
import {
  checkRotatePolicy,
  describeDecision,
  keyMayBeInUse,
  planRotation,
  type RenewDecision,
  type RenewReason,
  type RotationPlan,
} from '../rotate-plan.js';
import { identityStep, type StartState } from '../start-steps.js';
import { renewCertificateKey, sampleCertificateKey, uploadCertsInput } from './certificate-key.js';
import {
  type CertificatesReport,
  type CertificatesState,
  certificateSteps,
  certificatesReport,
} from './certificates.js';
import { type CurrentMaterial, expiries, readCurrentMaterial } from './material.js';
import {
  DEFAULT_ROTATE_LEASE_MS,
  iso,
  type RotateOptions,
  type Rotation,
  TOKEN_CONFIG_PATH,
  UPLOAD_CERTS_CONFIG_PATH,
} from './rotation.js';
import { deleteTokens, expiredTokenIds, renewToken, sampleToken, tokenCreateInput } from './token.js';

export { DEFAULT_ROTATE_LEASE_MS, type RotateOptions, TOKEN_CONFIG_PATH, UPLOAD_CERTS_CONFIG_PATH };

export type RotateOutcome = 'rotated' | 'fresh' | 'planned' | 'not-member' | 'busy';

export interface MaterialReport {
  action: 'renewed' | 'kept' | 'would-renew';
  /** Why it was (or would be) renewed; null when kept. */
  reason: RenewReason | null;
  /** When the material published now expires (the new one when renewed). */
  expiresAt: string | null;
  /** When the material found at the start expires; null when it was missing or unreadable. */
  previousExpiresAt: string | null;
}

export interface TokenReport extends MaterialReport {
  /** The public id of the published token (the part before the dot; not secret). */
  tokenId: string | null;
}

export interface RotateResult {
  flow: 'rotate';
  outcome: RotateOutcome;
  cluster: string;
  role: string;
  instanceId: string;
  /** What the outcome means, one line. */
  summary: string;
  token: TokenReport | null;
  certificateKey: MaterialReport | null;
  /** Ids of expired kboot tokens deleted (or, in a dry run, that would be). */
  deletedTokenIds: string[];
  /** The master holding the rotate lease, when outcome is busy. */
  heldBy: string | null;
  /** The cleanup of lost instances that ran after the rotation (null: did not run). */
  cleanup: CleanupReport | null;
  /** This member's kubeadm certificates (null: not checked, or none kubeadm can renew). */
  certificates: CertificatesReport | null;
}

export interface RotateState extends StartState, CertificatesState {
  options: RotateOptions;
  rotation: Rotation;
  current: CurrentMaterial;
  plan: RotationPlan;
  /** The token and key published when the run ends (the renewed ones, else the current ones). */
  tokenExpiresAt: string | undefined;
  certificateKeyExpiresAt: string | undefined;
  renewedToken: { tokenId: string; expiresAt: string };
  renewedCertificateKey: { expiresAt: string };
  /** Expired kboot tokens found (to delete), then deleted. */
  expiredTokenIds: string[];
  deletedTokenIds: string[];
  heldBy: string;
  /** What a cleanup would remove; null when it could not tell. */
  cleanupPlan: CleanupReport | null;
  cleanup: CleanupReport | null;
}

type RotateStep = Step<RotateState, FlowDeps>;

const NOT_MEMBER = 'this instance has not joined the cluster yet; nothing to rotate';
const BUSY = 'another master holds the rotate lease';

function requireInitialized(
  record: ClusterRecord | undefined,
  cluster: string,
  table: string,
): ClusterRecord {
  if (record?.initialized !== undefined) return record;
  throw new StateConflictError(
    record === undefined
      ? `this instance is a member of cluster "${cluster}", but table ${table} has no record of it`
      : `this instance is a member of cluster "${cluster}", but its record in table ${table} is not marked initialized`,
    {
      hint: `check that kboot uses the cluster's table (--table, KBOOT_TABLE or the kboot.io/table tag) and \`kboot status --cluster ${cluster}\``,
    },
  );
}

function expiresAtOf(decision: RenewDecision): string | undefined {
  return decision.expiresAtMs === undefined ? undefined : iso(decision.expiresAtMs);
}

const membership: RotateStep = {
  name: 'membership',
  kind: 'read',
  describe: () => 'check that this instance has joined the cluster',
  async run({ state, deps, logger }) {
    const cluster = state.get('identity').clusterName;
    const found = await readMembership(deps.fs, cluster);
    state.set({ membership: found });
    if (found.state === 'member') return undefined;
    logger.info({ cluster }, NOT_MEMBER);
    return { end: NOT_MEMBER };
  },
};

const clusterRecord: RotateStep = {
  name: 'cluster-record',
  kind: 'read',
  describe: () => 'read the cluster record (it must be initialized)',
  async run({ state, deps, signal }) {
    const identity = state.get('identity');
    const cluster = identity.clusterName;
    const ports = await deps.state();
    const record = requireInitialized(
      await ports.records.readRecord(cluster, signal),
      cluster,
      ports.records.tableName,
    );
    const store = await deps.joinMaterial();
    const options = state.get('options');
    let local: ReturnType<typeof localKubeadm> | undefined;
    state.set({
      rotation: {
        deps,
        options,
        leaseMs: options.leaseMs ?? DEFAULT_ROTATE_LEASE_MS,
        cluster,
        owner: identity.instance.instanceId,
        record,
        kubeadm: () => {
          local ??= localKubeadm(deps, signal);
          return local;
        },
        ports,
        store,
        published: {},
      },
    });
    return undefined;
  },
};

const rotateLease = leaseStep<RotateState, FlowDeps>({
  name: 'rotate-lease',
  describe: (state) => `take the rotate lease of cluster ${state.get('identity').clusterName} (once)`,
  async request({ state, deps }) {
    const rotation = state.get('rotation');
    return {
      lock: rotation.ports.lock(rotation.cluster, 'rotate'),
      options: {
        owner: rotation.owner,
        clock: deps.clock,
        leaseMs: rotation.leaseMs,
        pollMs: deps.settings.pollMs,
      },
    };
  },
  acquired({ state }, lease) {
    state.get('rotation').lease = lease;
  },
  busy({ state, deps, logger }, current) {
    const heldBy = current.owner ?? 'another master';
    logger.info(
      { cluster: state.get('identity').clusterName, holder: heldBy, fence: current.fence },
      `another master is rotating: ${describeHolder(current, deps.clock.nowMs())}; nothing to do`,
    );
    state.set({ heldBy });
    return { end: BUSY };
  },
});

const readMaterial: RotateStep = {
  name: 'read-join-material',
  kind: 'read',
  describe: () => 'read the join and control-plane secrets and decide what to renew',
  async run({ state, deps, logger, signal }) {
    const rotation = state.get('rotation');
    const { options } = rotation;
    if (rotation.lease !== undefined) {
      // Under the lease, the record as it is now: a rotation that finished while this one waited
      // for the lease recorded newer secret versions, and those are the ones to judge.
      rotation.record =
        (await rotation.ports.records.readRecord(rotation.cluster, signal)) ?? rotation.record;
    }
    const current = await readCurrentMaterial(rotation);
    const plan = planRotation(expiries(current), deps.clock.nowMs(), options);
    logger.info(
      {
        cluster: rotation.cluster,
        token: describeDecision(plan.token, options.tokenRenewBeforeMs),
        certificateKey: describeDecision(plan.certificateKey, options.certificateKeyRenewBeforeMs),
      },
      plan.token.renew || plan.certificateKey.renew
        ? 'join material needs renewing'
        : 'join material is fresh',
    );
    state.set({
      current,
      plan,
      tokenExpiresAt: expiresAtOf(plan.token),
      certificateKeyExpiresAt: expiresAtOf(plan.certificateKey),
    });
    return undefined;
  },
};

/** The record's stamp follows the secrets; a newer stamp (another rotation) wins and is kept. */
async function recordStamp(state: FlowState<RotateState>, signal: AbortSignal): Promise<void> {
  const rotation = state.get('rotation');
  const { deps, cluster } = rotation;
  const tokenExpiresAt = state.get('tokenExpiresAt');
  if (tokenExpiresAt === undefined) return;
  const certificateKeyExpiresAt = state.get('certificateKeyExpiresAt');
  const versions = { ...rotation.record.joinMaterial?.versions, ...rotation.published };
  const stamp: JoinMaterialStamp = {
    updatedAt: iso(deps.clock.nowMs()),
    tokenExpiresAt,
    ...(certificateKeyExpiresAt === undefined ? {} : { certificateKeyExpiresAt }),
    ...(Object.keys(versions).length === 0 ? {} : { versions }),
  };
  try {
    // Under the rotate lease's fence: versions a rotation that lost its lease published are never recorded.
    await rotation.ports.records.updateJoinMaterial(cluster, stamp, signal, rotation.lease);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    deps.logger.warn({ err: error, cluster }, 'did not record the join material stamp in the cluster record');
  }
}

const renewTokenStep: RotateStep = {
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

const renewCertificateKeyStep: RotateStep = {
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

const listExpiredTokens: RotateStep = {
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

const deleteExpiredTokens: RotateStep = {
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

const planCleanup: RotateStep = {
  name: 'plan-cleanup',
  kind: 'read',
  describe: () => 'look for the etcd members and Nodes of lost instances (member registry, EC2, etcd, Nodes)',
  async run({ state, deps, signal }) {
    state.set({ cleanupPlan: await planCleanupInRotate(deps, state.get('rotation').cluster, signal) });
    return undefined;
  },
};

const cleanupLostInstances: RotateStep = {
  name: 'cleanup-lost-instances',
  kind: 'change',
  describe: (state) => {
    const plan = state.get('cleanupPlan');
    const members = plan?.etcd.members.filter((m) => m.action === 'would-remove').map((m) => m.name) ?? [];
    const nodes = plan?.nodes.nodes.filter((n) => n.action === 'would-delete').map((n) => n.name) ?? [];
    return `remove etcd member(s) [${members.join(', ')}] and Node(s) [${nodes.join(', ')}] of lost instances (under the control-plane-join lease, if free)`;
  },
  skip: (state) => {
    const plan = state.get('cleanupPlan');
    if (plan === null) return 'could not check for lost instances';
    return needsCleanup(plan) ? undefined : 'nothing belongs to a lost instance';
  },
  noUndo: 'a lost instance is gone: its etcd member and Node are not put back',
  async run({ state, deps, signal }) {
    const { cluster, owner } = state.get('rotation');
    state.set({ cleanup: await cleanupInRotate(deps, cluster, owner, signal) });
    return undefined;
  },
};

function keptReport(decision: RenewDecision): MaterialReport {
  const expiresAt = expiresAtOf(decision) ?? null;
  return { action: 'kept', reason: null, expiresAt, previousExpiresAt: expiresAt };
}

function materialReport(
  decision: RenewDecision,
  renewedExpiresAt: string | undefined,
  dryRun: boolean,
): MaterialReport {
  if (!decision.renew) return keptReport(decision);
  if (dryRun)
    return { ...keptReport(decision), action: 'would-renew', reason: decision.reason, expiresAt: null };
  return {
    action: 'renewed',
    reason: decision.reason,
    expiresAt: renewedExpiresAt ?? null,
    previousExpiresAt: expiresAtOf(decision) ?? null,
  };
}

function rotateResult(
  state: FlowState<RotateState>,
  run: { dryRun: boolean; ended: string | undefined },
): RotateResult {
  const identity = state.get('identity');
  const cluster = identity.clusterName;
  const base = {
    flow: 'rotate' as const,
    cluster,
    role: identity.role,
    instanceId: identity.instance.instanceId,
    token: null,
    certificateKey: null,
    deletedTokenIds: [],
    heldBy: null,
    cleanup: state.peek('cleanup') ?? null,
    certificates: certificatesReport(state, run.dryRun),
  };
  if (run.ended === NOT_MEMBER) {
    return {
      ...base,
      outcome: 'not-member',
      summary: `nothing to rotate: this instance has not joined cluster ${cluster}`,
    };
  }
  if (run.ended === BUSY) {
    const heldBy = state.get('heldBy');
    return {
      ...base,
      outcome: 'busy',
      heldBy,
      summary: `nothing to do: ${heldBy} holds the ${leaseLabel(cluster, 'rotate')} and is rotating its join material`,
    };
  }
  const plan = state.get('plan');
  const current = state.get('current');
  const renewedToken = state.peek('renewedToken');
  const tokenReport: TokenReport = {
    ...materialReport(plan.token, renewedToken?.expiresAt, run.dryRun),
    tokenId:
      renewedToken?.tokenId ?? (current.join.state === 'present' ? tokenId(current.join.value.token) : null),
  };
  const keyReport = materialReport(
    plan.certificateKey,
    state.peek('renewedCertificateKey')?.expiresAt,
    run.dryRun,
  );
  const deletedTokenIds = run.dryRun
    ? (state.peek('expiredTokenIds') ?? [])
    : (state.peek('deletedTokenIds') ?? []);
  const reports = { token: tokenReport, certificateKey: keyReport, deletedTokenIds };
  if (run.dryRun) {
    const nothing = !plan.token.renew && !plan.certificateKey.renew && deletedTokenIds.length === 0;
    return {
      ...base,
      ...reports,
      outcome: 'planned',
      summary: nothing
        ? `dry run: join material of cluster ${cluster} is fresh; nothing would change`
        : 'dry run: nothing changed',
    };
  }
  const tokenExpiresAt = state.peek('tokenExpiresAt');
  const certificateKeyExpiresAt = state.peek('certificateKeyExpiresAt');
  const renewedCertificates = base.certificates?.action === 'renewed' ? base.certificates : undefined;
  const renewedParts = [
    ...(plan.token.renew ? [`the bootstrap token (expires ${tokenExpiresAt})`] : []),
    ...(plan.certificateKey.renew ? [`the certificate key (expires ${certificateKeyExpiresAt})`] : []),
  ];
  const certificatesPart =
    renewedCertificates === undefined
      ? ''
      : `${renewedParts.length === 0 ? '' : '; '}renewed this member's kubeadm certificates (they expire ${renewedCertificates.expiresAt})`;
  if (renewedParts.length === 0 && renewedCertificates !== undefined) {
    return {
      ...base,
      ...reports,
      outcome: 'rotated',
      summary: `join material of cluster ${cluster} is fresh; ${certificatesPart}`,
    };
  }
  if (renewedParts.length === 0) {
    return {
      ...base,
      ...reports,
      outcome: 'fresh',
      summary: `join material of cluster ${cluster} is fresh (token expires ${tokenExpiresAt}, certificate key ${certificateKeyExpiresAt}); nothing renewed`,
    };
  }
  return {
    ...base,
    ...reports,
    outcome: 'rotated',
    summary: `renewed ${renewedParts.join(' and ')} of cluster ${cluster}${
      deletedTokenIds.length === 0 ? '' : `; deleted ${deletedTokenIds.length} expired kboot token(s)`
    }${certificatesPart}`,
  };
}

/** Checks the options first (a bad policy is exit 2 before anything is read). */
const policy: RotateStep = {
  name: 'policy',
  kind: 'read',
  describe: () => 'check the rotation policy',
  async run({ state }) {
    checkRotatePolicy(state.get('options'));
    return undefined;
  },
};

const certificates = certificateSteps<RotateState>();

export const rotateFlow: Flow<RotateState, FlowDeps, RotateResult> = {
  name: 'rotate',
  steps: [
    policy,
    identityStep(
      'rotate',
      'control-plane',
      "run 'kboot rotate' on control-plane instances only (it uses their admin.conf); disable the kboot-rotate timer on worker images",
    ),
    membership,
    clusterRecord,
    certificates.checkCertificates,
    certificates.restoreManifests,
    certificates.recordCertificates,
    rotateLease,
    readMaterial,
    renewTokenStep,
    renewCertificateKeyStep,
    certificates.renewCertificates,
    certificates.restartControlPlane,
    listExpiredTokens,
    deleteExpiredTokens,
    planCleanup,
    cleanupLostInstances,
  ],
  result: rotateResult,
};
