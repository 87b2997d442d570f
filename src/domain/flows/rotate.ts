/**
 * `kboot rotate`: keeps join material fresh so a master or node can join a cluster of any age.
 * Run on control-plane members by a systemd timer (every 15 minutes); one master acts at a time.
 *   identity (control-plane, else exit 9) → membership (not joined yet: exit 0, nothing to do) →
 *   the cluster record (initialized) → take the `rotate` lease once (held by another master:
 *   exit 0) → read the join and control-plane secrets → decide (rotate-plan.ts) →
 *   token: `kubeadm token create --config` (0600 file) → publish `join` (a new AWSCURRENT
 *   version) → stamp the record → certificate key: hold the control-plane-join lease while the
 *   old key may still be in use → `kubeadm init phase upload-certs --upload-certs --config`
 *   (0600 file) → publish `control-plane` → stamp → after a token renewal, delete expired
 *   kboot tokens → release.
 * The previous token stays valid until it expires. A new certificate key replaces the uploaded
 * certificates at once, so it is swapped while no master joins: joiners hold the
 * control-plane-join lease from reading the key to the end of kubeadm join.
 */

import { formatDurationMs } from '../../core/duration.js';
import {
  ClusterTimeoutError,
  IncompatibleError,
  KubeadmError,
  StateConflictError,
} from '../../core/errors.js';
import type { Secret } from '../../core/secrets.js';
import { cleanupInRotate } from '../cleanup/flow.js';
import type { CleanupReport } from '../cleanup/run.js';
import type { Identity } from '../identity/resolve.js';
import { JoinMaterialMissingError } from '../join/errors.js';
import {
  type ControlPlaneSecret,
  JOIN_MATERIAL_SCHEMA_VERSION,
  type JoinMaterialUpdate,
  type JoinSecret,
} from '../join/material.js';
import { controlPlaneSecretId, joinSecretId } from '../join/secret-ids.js';
import type { JoinMaterialStore } from '../join/store.js';
import { caCertHash } from '../kubeadm/ca-hash.js';
import { renderTokenCreateConfig, renderUploadCertsConfig } from '../kubeadm/render.js';
import { parseTokenList } from '../kubeadm/token-list.js';
import { generateBootstrapToken, generateCertificateKey, tokenId } from '../kubeadm/tokens.js';
import type { TokenCreateConfigInput, UploadCertsConfigInput } from '../kubeadm/types.js';
import { apiAddress, type ClusterRecord, type JoinMaterialStamp } from '../state/cluster-record.js';
import { acquireLease, type HoldLeaseOptions, runUnderLease } from '../state/hold-lease.js';
import { describeHolder, leaseLabel } from '../state/lease.js';
import { UPLOADED_CERTS_LIFETIME_MS } from './bootstrap-master.js';
import { type LocalKubeadm, localKubeadm } from './common.js';
import type { ClusterStatePorts, FlowDeps } from './deps.js';
import { readMembership } from './membership.js';
import { CA_CERT_PATH } from './paths.js';
import {
  type CurrentExpiry,
  checkRotatePolicy,
  describeDecision,
  expiredKbootTokenIds,
  KBOOT_TOKEN_DESCRIPTION_PREFIX,
  keyMayBeInUse,
  planRotation,
  type RenewDecision,
  type RenewReason,
  type RotatePolicy,
} from './rotate-plan.js';
import type { Steps } from './steps.js';

export const TOKEN_CONFIG_PATH = '/var/lib/kboot/kubeadm/token.yaml';
export const UPLOAD_CERTS_CONFIG_PATH = '/var/lib/kboot/kubeadm/upload-certs.yaml';
/** Short, so a rotating master that dies is replaced at another master's next timer run. */
export const DEFAULT_ROTATE_LEASE_MS = 2 * 60_000;
/** One kubeadm call against the API server (token create/list/delete, upload-certs). */
const KUBEADM_API_TIMEOUT_MS = 2 * 60_000;
/** The parse error of a secret written by a newer kboot: never overwritten by this one. */
const NEWER_SCHEMA = /newer than this kboot/;

export interface RotateOptions extends RotatePolicy {
  /** How long to wait for a joining master to release the control-plane-join lease. */
  joinWaitMs: number;
  /** The rotate lease (default 2 minutes; renewed while working). */
  leaseMs?: number;
}

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
}

/** What every step of one rotation needs. */
interface Rotation {
  deps: FlowDeps;
  steps: Steps;
  options: RotateOptions;
  leaseMs: number;
  cluster: string;
  owner: string;
  record: ClusterRecord;
  /** The local kubeadm, asked once and only when something is renewed. */
  kubeadm(): Promise<LocalKubeadm>;
  state: ClusterStatePorts;
  store: JoinMaterialStore;
}

type Current<T> = { state: 'present'; value: T } | { state: 'missing' } | { state: 'unreadable' };

interface CurrentMaterial {
  join: Current<JoinSecret>;
  controlPlane: Current<ControlPlaneSecret>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function requireControlPlane(identity: Identity): void {
  if (identity.role === 'control-plane') return;
  throw new IncompatibleError(`this instance is tagged ${identity.role}, so it cannot run 'kboot rotate'`, {
    hint: "run 'kboot rotate' on control-plane instances only (it uses their admin.conf); disable the kboot-rotate timer on worker images",
  });
}

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

export async function rotate(deps: FlowDeps, steps: Steps, options: RotateOptions): Promise<RotateResult> {
  checkRotatePolicy(options);
  const { logger, clock } = deps;
  const identity = await steps.read('identity', () => deps.identity());
  requireControlPlane(identity);
  const cluster = identity.clusterName;
  const owner = identity.instance.instanceId;
  const base = {
    flow: 'rotate' as const,
    cluster,
    role: identity.role,
    instanceId: owner,
    token: null,
    certificateKey: null,
    deletedTokenIds: [],
    heldBy: null,
    cleanup: null,
  };
  const membership = await steps.read('membership', () => readMembership(deps.fs, cluster));
  if (membership.state !== 'member') {
    logger.info({ cluster }, 'this instance has not joined the cluster yet; nothing to rotate');
    return {
      ...base,
      outcome: 'not-member',
      summary: `nothing to rotate: this instance has not joined cluster ${cluster}`,
    };
  }
  const state = await deps.state();
  const record = requireInitialized(
    await steps.read('cluster-record', () => state.records.readRecord(cluster, deps.signal)),
    cluster,
    state.records.tableName,
  );
  const store = await deps.joinMaterial();
  let local: Promise<LocalKubeadm> | undefined;
  const kubeadm = (): Promise<LocalKubeadm> => {
    local ??= steps.read('kubeadm-version', () => localKubeadm(deps));
    return local;
  };
  const leaseMs = options.leaseMs ?? DEFAULT_ROTATE_LEASE_MS;
  const rotation: Rotation = { deps, steps, options, leaseMs, cluster, owner, record, kubeadm, state, store };
  if (steps.dryRun) return { ...base, ...(await planOnly(rotation)) };

  const lock = state.lock(cluster, 'rotate');
  const leaseOptions = leaseOptionsFor(rotation, deps.signal);
  const acquired = await acquireLease(lock, leaseOptions);
  if (!acquired.acquired) {
    const heldBy = acquired.current.owner ?? 'another master';
    logger.info(
      { cluster, holder: heldBy, fence: acquired.current.fence },
      `another master is rotating: ${describeHolder(acquired.current, clock.nowMs())}; nothing to do`,
    );
    return {
      ...base,
      outcome: 'busy',
      heldBy,
      summary: `nothing to do: ${heldBy} holds the ${leaseLabel(cluster, 'rotate')} and is rotating its join material`,
    };
  }
  const result = await runUnderLease(lock, acquired.lease, leaseOptions, async (signal) => ({
    ...(await rotateUnderLease(rotation, signal)),
    // Same timer, same lease: one master at a time cleans up after lost instances.
    cleanup: await cleanupInRotate(deps, steps, cluster, owner),
  }));
  return { ...base, ...result };
}

function leaseOptionsFor(rotation: Rotation, signal: AbortSignal): HoldLeaseOptions {
  const { deps } = rotation;
  return {
    owner: rotation.owner,
    clock: deps.clock,
    logger: deps.logger,
    leaseMs: rotation.leaseMs,
    pollMs: deps.settings.pollMs,
    signal,
  };
}

type RotationReport = Pick<
  RotateResult,
  'outcome' | 'summary' | 'token' | 'certificateKey' | 'deletedTokenIds'
>;

async function rotateUnderLease(rotation: Rotation, signal: AbortSignal): Promise<RotationReport> {
  const { deps, steps, options, cluster } = rotation;
  const { logger, clock } = deps;
  const current = await steps.read('read-join-material', () => readCurrentMaterial(rotation));
  const plan = planRotation(expiries(current), clock.nowMs(), options);
  logger.info(
    {
      cluster,
      token: describeDecision(plan.token, options.tokenRenewBeforeMs),
      certificateKey: describeDecision(plan.certificateKey, options.certificateKeyRenewBeforeMs),
    },
    plan.token.renew || plan.certificateKey.renew ? 'join material needs renewing' : 'join material is fresh',
  );

  let tokenExpiresAt = expiresAtOf(plan.token);
  let certificateKeyExpiresAt = expiresAtOf(plan.certificateKey);
  const previousTokenId = current.join.state === 'present' ? tokenId(current.join.value.token) : null;
  let publishedTokenId = previousTokenId;
  let token: TokenReport = { ...kept(plan.token), tokenId: publishedTokenId };
  if (plan.token.renew) {
    const renewed = await steps.read('renew-token', () => renewToken(rotation, current.join, signal));
    tokenExpiresAt = renewed.expiresAt;
    publishedTokenId = renewed.tokenId;
    token = { ...renewedReport(plan.token, renewed.expiresAt), tokenId: renewed.tokenId };
    await recordStamp(rotation, { tokenExpiresAt, certificateKeyExpiresAt }, signal);
  }

  let certificateKey = kept(plan.certificateKey);
  if (plan.certificateKey.renew) {
    const renewed = await steps.read('renew-certificate-key', () =>
      renewCertificateKey(rotation, current.controlPlane, plan.certificateKey, signal),
    );
    certificateKeyExpiresAt = renewed.expiresAt;
    certificateKey = renewedReport(plan.certificateKey, renewed.expiresAt);
    await recordStamp(rotation, { tokenExpiresAt, certificateKeyExpiresAt }, signal);
  }

  // Housekeeping on runs that renew the token (kube-controller-manager's tokencleaner deletes
  // expired tokens too; this covers clusters without it): never the token published now or the
  // one it replaces, which stays valid until it expires.
  const keep = [publishedTokenId, previousTokenId].filter((id): id is string => id !== null);
  const deletedTokenIds = plan.token.renew
    ? await steps.read('delete-expired-tokens', () => deleteExpiredTokens(rotation, keep, signal))
    : [];
  await refreshNodeLeaveCredential(rotation);
  const renewedParts = [
    ...(plan.token.renew ? [`the bootstrap token (expires ${tokenExpiresAt})`] : []),
    ...(plan.certificateKey.renew ? [`the certificate key (expires ${certificateKeyExpiresAt})`] : []),
  ];
  if (renewedParts.length === 0) {
    return {
      outcome: 'fresh',
      summary: `join material of cluster ${cluster} is fresh (token expires ${tokenExpiresAt}, certificate key ${certificateKeyExpiresAt}); nothing renewed`,
      token,
      certificateKey,
      deletedTokenIds,
    };
  }
  return {
    outcome: 'rotated',
    summary: `renewed ${renewedParts.join(' and ')} of cluster ${cluster}${
      deletedTokenIds.length === 0 ? '' : `; deleted ${deletedTokenIds.length} expired kboot token(s)`
    }`,
    token,
    certificateKey,
    deletedTokenIds,
  };
}

/** The node-leave credential workers use to leave (README "Leaving the cluster"); failures only warn. */
async function refreshNodeLeaveCredential(rotation: Rotation): Promise<void> {
  const { deps, steps, cluster, record } = rotation;
  const ensure = deps.nodeLeaveCredential;
  if (ensure === undefined) return;
  try {
    const report = await steps.read('node-leave-credential', () => ensure(cluster, publishOptions(record)));
    if (report.action === 'kept')
      deps.logger.debug({ expiresAt: report.expiresAt }, 'the node-leave credential is fresh');
  } catch (error) {
    if (deps.signal.aborted) throw error;
    deps.logger.warn(
      { err: error, cluster },
      'could not publish the node-leave credential; workers cannot drain themselves on termination until a rotate succeeds',
    );
  }
}

function expiresAtOf(decision: RenewDecision): string | undefined {
  return decision.expiresAtMs === undefined ? undefined : iso(decision.expiresAtMs);
}

function kept(decision: RenewDecision): MaterialReport {
  const expiresAt = expiresAtOf(decision) ?? null;
  return { action: 'kept', reason: null, expiresAt, previousExpiresAt: expiresAt };
}

function renewedReport(decision: RenewDecision, expiresAt: string): MaterialReport {
  return {
    action: 'renewed',
    reason: decision.renew ? decision.reason : null,
    expiresAt,
    previousExpiresAt: expiresAtOf(decision) ?? null,
  };
}

/** Reads a secret; a missing or malformed one is something to renew, not a failure. */
async function readCurrent<T>(
  rotation: Rotation,
  secretId: string,
  read: () => Promise<T>,
): Promise<Current<T>> {
  try {
    return { state: 'present', value: await read() };
  } catch (error) {
    if (error instanceof JoinMaterialMissingError) {
      rotation.deps.logger.warn({ secretId }, 'the secret does not exist; kboot rotate publishes it');
      return { state: 'missing' };
    }
    if (error instanceof StateConflictError && !NEWER_SCHEMA.test(error.message)) {
      rotation.deps.logger.warn(
        { secretId, problem: error.message },
        'the secret is unreadable; kboot rotate replaces it',
      );
      return { state: 'unreadable' };
    }
    throw error;
  }
}

async function readCurrentMaterial(rotation: Rotation): Promise<CurrentMaterial> {
  const { store, cluster } = rotation;
  const [join, controlPlane] = await Promise.all([
    readCurrent(rotation, joinSecretId(cluster), () => store.readJoin(cluster)),
    readCurrent(rotation, controlPlaneSecretId(cluster), () => store.readControlPlane(cluster)),
  ]);
  return { join, controlPlane };
}

function expiryOf<T>(material: Current<T>, expiresAt: (value: T) => string): CurrentExpiry {
  return material.state === 'present'
    ? { state: 'present', expiresAtMs: Date.parse(expiresAt(material.value)) }
    : { state: material.state };
}

function expiries(current: CurrentMaterial): { token: CurrentExpiry; certificateKey: CurrentExpiry } {
  return {
    token: expiryOf(current.join, (join) => join.tokenExpiresAt),
    certificateKey: expiryOf(current.controlPlane, (controlPlane) => controlPlane.certificateKeyExpiresAt),
  };
}

function publishOptions(record: ClusterRecord): { kmsKeyId?: string } {
  return record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId };
}

/** Writes `content` to a 0600 file, runs kubeadm with it, and removes it whatever happens. */
async function runKubeadmWithConfig(
  rotation: Rotation,
  configPath: string,
  content: string,
  args: (file: string) => string[],
  signal: AbortSignal,
): Promise<void> {
  const { fs, kubeadm } = rotation.deps;
  await fs.writePrivateFile(configPath, content);
  try {
    await kubeadm.run(args(fs.resolve(configPath)), { timeoutMs: KUBEADM_API_TIMEOUT_MS, signal });
  } finally {
    await fs.remove(configPath);
  }
}

async function tokenCreateInput(rotation: Rotation, token: Secret): Promise<TokenCreateConfigInput> {
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

async function uploadCertsInput(rotation: Rotation, certificateKey: Secret): Promise<UploadCertsConfigInput> {
  const endpoint = apiAddress(rotation.record.apiEndpoint);
  return {
    apiVersion: (await rotation.kubeadm()).apiVersion,
    kubernetesVersion: rotation.record.kubernetesVersion,
    clusterName: rotation.cluster,
    controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
    certificateKey,
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

async function renewToken(
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

async function publish(rotation: Rotation, update: JoinMaterialUpdate): Promise<void> {
  await rotation.store.publish(rotation.cluster, update, publishOptions(rotation.record));
}

/**
 * A new certificate key. When the current key may still be in use, first the control-plane-join
 * lease, so no master reads the old key and then finds the certificates re-encrypted: joiners
 * hold that lease from reading the key to the end of kubeadm join. The wait ends when the lease
 * is free, or when the old key expires (no join can use it any more), or after joinWaitMs.
 */
async function renewCertificateKey(
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
  const lock = rotation.state.lock(cluster, 'control-plane-join');
  const deadlineMs = Math.min(clock.nowMs() + options.joinWaitMs, oldKeyExpiresAtMs);
  logger.info(
    { cluster },
    'taking the control-plane-join lease, so no master joins with the old certificate key while it is replaced',
  );
  const leaseOptions = leaseOptionsFor(rotation, signal);
  const outcome = await acquireLease(lock, { ...leaseOptions, acquireDeadlineMs: deadlineMs });
  if (outcome.acquired) {
    return runUnderLease(lock, outcome.lease, leaseOptions, (held) =>
      uploadAndPublish(rotation, previous, held),
    );
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
  const controlPlane: ControlPlaneSecret = {
    schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
    certificateKey,
    certificateKeyExpiresAt: expiresAt,
    updatedAt: iso(deps.clock.nowMs()),
  };
  try {
    await publish(rotation, { controlPlane });
  } catch (error) {
    await restorePreviousKey(rotation, previous, signal);
    throw error;
  }
  deps.logger.info(
    { cluster, secretId: controlPlaneSecretId(cluster), certificateKeyExpiresAt: expiresAt },
    'published the new certificate key',
  );
  return { expiresAt };
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

async function restorePreviousKey(
  rotation: Rotation,
  previous: ControlPlaneSecret | undefined,
  signal: AbortSignal,
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
    await uploadCerts(rotation, previous.certificateKey, signal);
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

/** The record's stamp follows the secrets; a newer stamp (another rotation) wins and is kept. */
async function recordStamp(
  rotation: Rotation,
  expiries: { tokenExpiresAt: string | undefined; certificateKeyExpiresAt: string | undefined },
  signal: AbortSignal,
): Promise<void> {
  const { deps, cluster } = rotation;
  if (expiries.tokenExpiresAt === undefined) return;
  const stamp: JoinMaterialStamp = {
    updatedAt: iso(deps.clock.nowMs()),
    tokenExpiresAt: expiries.tokenExpiresAt,
    ...(expiries.certificateKeyExpiresAt === undefined
      ? {}
      : { certificateKeyExpiresAt: expiries.certificateKeyExpiresAt }),
  };
  try {
    await rotation.state.records.updateJoinMaterial(cluster, stamp, signal);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    deps.logger.warn({ err: error, cluster }, 'did not record the join material stamp in the cluster record');
  }
}

/** Lists tokens (ids and expiries only are kept) and deletes kboot's expired ones; failures only warn. */
async function expiredTokenIds(
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

async function deleteExpiredTokens(
  rotation: Rotation,
  keepIds: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const { deps } = rotation;
  const deleted: string[] = [];
  for (const id of await expiredTokenIds(rotation, keepIds, signal)) {
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

/** --dry-run: what would be renewed and deleted, with the configs kubeadm would get (redacted). */
async function planOnly(rotation: Rotation): Promise<RotationReport> {
  const { deps, steps, options, cluster } = rotation;
  const current = await steps.read('read-join-material', () => readCurrentMaterial(rotation));
  const plan = planRotation(expiries(current), deps.clock.nowMs(), options);
  if (plan.token.renew) {
    steps.planned.push({
      step: 'renew-token',
      description: `create a new bootstrap token (TTL ${formatDurationMs(options.tokenTtlMs)}) with kubeadm token create and publish it to ${joinSecretId(cluster)}: the current token ${describeDecision(plan.token, options.tokenRenewBeforeMs)}`,
      files: [
        {
          path: TOKEN_CONFIG_PATH,
          content: renderTokenCreateConfig(await tokenCreateInput(rotation, generateBootstrapToken()), {
            mode: 'redacted',
          }),
        },
      ],
    });
  }
  if (plan.certificateKey.renew) {
    const lease = keyMayBeInUse(plan.certificateKey)
      ? ' (holding the control-plane-join lease, so no master joins with the old key meanwhile)'
      : '';
    steps.planned.push({
      step: 'renew-certificate-key',
      description: `re-upload the control-plane certificates under a new certificate key with kubeadm init phase upload-certs and publish it to ${controlPlaneSecretId(cluster)}${lease}: the current key ${describeDecision(plan.certificateKey, options.certificateKeyRenewBeforeMs)}`,
      files: [
        {
          path: UPLOAD_CERTS_CONFIG_PATH,
          content: renderUploadCertsConfig(await uploadCertsInput(rotation, generateCertificateKey()), {
            mode: 'redacted',
          }),
        },
      ],
    });
  }
  const keep = current.join.state === 'present' ? [tokenId(current.join.value.token)] : [];
  const deletedTokenIds = plan.token.renew
    ? await steps.read('list-tokens', () => expiredTokenIds(rotation, keep, deps.signal))
    : [];
  if (deletedTokenIds.length > 0) {
    steps.planned.push({
      step: 'delete-expired-tokens',
      description: `delete expired kboot bootstrap tokens ${deletedTokenIds.join(', ')}`,
    });
  }
  const wouldRenew = (decision: RenewDecision): MaterialReport =>
    decision.renew
      ? { ...kept(decision), action: 'would-renew', reason: decision.reason, expiresAt: null }
      : kept(decision);
  return {
    outcome: 'planned',
    summary:
      steps.planned.length === 0
        ? `dry run: join material of cluster ${cluster} is fresh; nothing would change`
        : 'dry run: nothing changed',
    token: {
      ...wouldRenew(plan.token),
      tokenId: current.join.state === 'present' ? tokenId(current.join.value.token) : null,
    },
    certificateKey: wouldRenew(plan.certificateKey),
    deletedTokenIds,
  };
}
