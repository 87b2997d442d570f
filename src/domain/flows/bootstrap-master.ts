/**
 * `kboot bootstrap-master`: the first control-plane instance initializes the cluster.
 *   identity → already a member? → local kubeadm → the cluster record (written here,
 *   conditionally, when no `kboot cluster create` made it) → already initialized? → version skew →
 *   the init inputs (a bootstrap token and certificate key kboot generates; addons rendered and
 *   read before anything changes) → the bootstrap lease → initialized meanwhile? → the
 *   InitConfiguration (0600, removed at the end) → the hardening files (audit policy,
 *   authentication config; 0600) → kubeadm init --upload-certs (undo: kubeadm
 *   reset) → CA hash from ca.crt → with IRSA (`addons.irsa`), the OIDC discovery document and JWKS
 *   to the bucket → the addons (CNI, AWS cloud-controller-manager, addons.d) → membership file → join, control-plane and admin.conf secrets, then `initialized`
 *   (a transaction that checks the lease: the point after which nothing is undone) → the member
 *   record → the lease released.
 * A failure, a stop or a lost lease before `initialized` unwinds: kubeadm reset, the init config
 * removed, the lease released, the failure recorded in the cluster record; a retry starts over
 * cleanly.
 */

import { formatDurationMs } from '../../core/duration.js';
import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  ConfigError,
  KubeadmError,
  KubectlError,
  StateConflictError,
} from '../../core/errors.js';
import { redactText, Secret } from '../../core/secrets.js';
import { applyAddons } from '../addons/apply.js';
import { type Addon, isManifestFile, planAddons } from '../addons/plan.js';
import {
  clusterAddonsFromConfig,
  DEFAULT_MANIFESTS_DIR,
  effectiveClusterAddons,
  kubeletCloudProvider,
} from '../addons/settings.js';
import type { Identity } from '../identity/resolve.js';
import { oidcDocuments } from '../irsa/documents.js';
import { type IrsaSettings, resolveIrsa, serviceAccountIssuer } from '../irsa/issuer.js';
import { SERVICE_ACCOUNT_PUBLIC_KEY_PATH } from '../irsa/publisher.js';
import { JOIN_MATERIAL_SCHEMA_VERSION, type JoinMaterial } from '../join/material.js';
import { publishedVersions } from '../join/store.js';
import { caCertHash } from '../kubeadm/ca-hash.js';
import { generateEncryptionKey, resolveHardening } from '../kubeadm/hardening.js';
import { GRACEFUL_NODE_SHUTDOWN, renderInitConfig } from '../kubeadm/render.js';
import { generateBootstrapToken, generateCertificateKey } from '../kubeadm/tokens.js';
import type { InitConfigInput } from '../kubeadm/types.js';
import { assertVersionSkew, formatKubeVersion, parseKubernetesVersion } from '../kubeadm/version.js';
import { apiAddress, type ClusterRecord, newClusterRecord } from '../state/cluster-record.js';
import type { LeaseRef } from '../state/lease.js';
import { leaseStep } from '../steps/lease-step.js';
import type { Flow, Step } from '../steps/step.js';
import { type LocalKubeadm, localKubeadm, readKubeadmOverrides, resetAfterFailure } from './common.js';
import type { ClusterStatePorts, FlowDeps, FlowResult } from './deps.js';
import { hardeningFilesStep } from './hardening-files.js';
import { membershipFor, writeMembership } from './membership.js';
import { ADMIN_CONF_PATH, CA_CERT_PATH, INIT_CONFIG_PATH, MEMBERSHIP_PATH } from './paths.js';
import {
  ALREADY_MEMBER,
  alreadyMemberResult,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
  memberTimeline,
  plannedResult,
  type StartState,
} from './start-steps.js';

/** kubeadm deletes the certificates `--upload-certs` stored after two hours. */
export const UPLOADED_CERTS_LIFETIME_MS = 2 * 60 * 60_000;
const DEFAULT_POD_CIDR = '10.244.0.0/16';
const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** How the flow ends when another master initialized the cluster first. */
export const ALREADY_INITIALIZED = 'the cluster is already initialized';

export interface BootstrapState extends StartState {
  kubeadm: LocalKubeadm;
  ports: ClusterStatePorts;
  record: ClusterRecord;
  /** Set when no record existed: the record this master writes. */
  proposedRecord: ClusterRecord;
  nodeName: string;
  token: Secret;
  certificateKey: Secret;
  /** The secretbox key of encryption at rest, when it uses secretbox (made here, at init). */
  encryptionKey: Secret;
  irsa: IrsaSettings | undefined;
  addons: Addon[];
  initInput: InitConfigInput;
  lease: LeaseRef;
  caHash: string;
  adminConf: Secret;
  /** The addon being applied, for the failure record ("addon cilium"). */
  applyingAddon: string;
}

type BootstrapStep = Step<BootstrapState, FlowDeps>;

/**
 * The record this master would write when none exists: node config, tags and discovery (region
 * and IP from IMDS; the API endpoint given, or the DNS name of the load balancer tagged for the
 * cluster).
 */
async function proposedRecord(
  deps: FlowDeps,
  identity: Identity,
  kubeadm: LocalKubeadm,
  table: string,
): Promise<ClusterRecord> {
  const cluster = identity.clusterName;
  const apiEndpoint = deps.config.apiEndpoint ?? (await deps.discoverApiEndpoint(cluster));
  if (apiEndpoint === undefined) {
    throw new ConfigError(
      `cluster "${cluster}" has no record yet, and no API endpoint is configured or discoverable`,
      {
        hint:
          "create the cluster with 'kboot cluster create', tag the API load balancer kubernetes.io/cluster/" +
          `${cluster}=owned, or set apiEndpoint in /etc/kboot/config.yaml`,
      },
    );
  }
  if (deps.config.apiEndpoint === undefined) {
    deps.logger.info(
      { apiEndpoint },
      'discovered the API endpoint: the load balancer tagged for the cluster',
    );
  }
  return newClusterRecord(
    {
      clusterName: cluster,
      region: identity.instance.region,
      apiEndpoint,
      podCidr: deps.config.podCidr ?? DEFAULT_POD_CIDR,
      serviceCidr: deps.config.serviceCidr ?? DEFAULT_SERVICE_CIDR,
      kubernetesVersion: deps.config.kubernetesVersion ?? formatKubeVersion(kubeadm.version),
      ...(deps.config.externalDns === undefined ? {} : { externalDns: deps.config.externalDns }),
      addons: clusterAddonsFromConfig(deps.config.addons),
      createdBy: identity.instance.instanceId,
      createdAt: new Date(deps.clock.nowMs()).toISOString(),
    },
    table,
  );
}

function alreadyInitialized(record: ClusterRecord, deps: FlowDeps): { end: string } {
  deps.logger.info({ by: record.initialized?.by, at: record.initialized?.at }, ALREADY_INITIALIZED);
  return { end: ALREADY_INITIALIZED };
}

const kubeadmVersion: BootstrapStep = {
  name: 'kubeadm-version',
  kind: 'read',
  describe: () => 'read the local kubeadm version',
  async run({ state, deps, signal }) {
    state.set({ kubeadm: await localKubeadm(deps, signal) });
    return undefined;
  },
};

const readRecord: BootstrapStep = {
  name: 'cluster-record',
  kind: 'read',
  describe: () => 'read the cluster record (or work out the one to write, from config, tags and discovery)',
  async run({ state, deps, signal }) {
    const ports = await deps.state();
    const identity = state.get('identity');
    state.set({ ports });
    const existing = await ports.records.readRecord(identity.clusterName, signal);
    if (existing !== undefined) {
      state.set({ record: existing });
      return existing.initialized === undefined ? undefined : alreadyInitialized(existing, deps);
    }
    const proposed = await proposedRecord(deps, identity, state.get('kubeadm'), ports.records.tableName);
    state.set({ record: proposed, proposedRecord: proposed });
    return undefined;
  },
};

const writeRecord: BootstrapStep = {
  name: 'write-cluster-record',
  kind: 'change',
  describe: (state) =>
    `write the record of cluster ${state.get('identity').clusterName} (only if no other master wrote one first)`,
  skip: (state) => (state.has('proposedRecord') ? undefined : 'the cluster has a record'),
  noUndo:
    'the record describes the cluster, not this attempt: a retry uses it (a conditional put, never overwritten)',
  async run({ state, deps, signal }) {
    const { records } = state.get('ports');
    const proposed = state.get('proposedRecord');
    const outcome = await records.putRecordIfAbsent(proposed, signal);
    if (outcome.created) {
      deps.logger.info(
        { cluster: proposed.clusterName, apiEndpoint: proposed.apiEndpoint, table: records.tableName },
        'wrote the cluster record',
      );
    } else if (outcome.differences.length > 0) {
      deps.logger.warn(
        { differences: outcome.differences },
        'another master wrote the cluster record first with different settings; using its record',
      );
    }
    state.set({ record: outcome.record });
    return outcome.record.initialized === undefined ? undefined : alreadyInitialized(outcome.record, deps);
  },
};

const versionSkew: BootstrapStep = {
  name: 'version-skew',
  kind: 'read',
  describe: () => "check the local kubeadm against the cluster's Kubernetes version",
  async run({ state }) {
    assertVersionSkew({
      action: 'init',
      kubeadm: state.get('kubeadm').version,
      cluster: parseKubernetesVersion(state.get('record').kubernetesVersion, 'the cluster version'),
      clusterName: state.get('identity').clusterName,
    });
    return undefined;
  },
};

const initInputs: BootstrapStep = {
  name: 'init-inputs',
  kind: 'read',
  describe: () =>
    'read the node name, kubeadm overrides and addons, and make the bootstrap token and certificate key',
  async run({ state, deps }) {
    const identity = state.get('identity');
    const record = state.get('record');
    const owner = identity.instance.instanceId;
    const [nodeName, overrides, addons] = await Promise.all([
      deps.privateDnsName(),
      readKubeadmOverrides(deps),
      // Rendered and read before the lease is taken, so a bad addons.d file name or an unknown
      // Kubernetes minor stops the run before anything changes.
      readAddons(deps, record),
    ]);
    const token = generateBootstrapToken();
    const certificateKey = generateCertificateKey();
    const hardening = resolveHardening(deps.config.hardening);
    const endpoint = apiAddress(record.apiEndpoint);
    const irsaConfig = deps.config.addons?.irsa;
    const irsa = irsaConfig === undefined ? undefined : resolveIrsa(irsaConfig, record.region);
    const initInput: InitConfigInput = {
      apiVersion: state.get('kubeadm').apiVersion,
      nodeName,
      cloudProvider: kubeletCloudProvider(effectiveClusterAddons(record, deps.config.addons)),
      overrides,
      clusterName: identity.clusterName,
      kubernetesVersion: record.kubernetesVersion,
      controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
      advertiseAddress: identity.instance.privateIpv4,
      podSubnet: record.podCidr,
      serviceSubnet: record.serviceCidr,
      certSANs: deps.config.certSANs ?? [],
      bootstrapTokens: [
        { token, ttlMs: deps.settings.tokenTtlMs, description: `kboot: created by ${owner} at cluster init` },
      ],
      certificateKey,
      kubeletConfiguration: { cgroupDriver: 'systemd' as const, ...GRACEFUL_NODE_SHUTDOWN },
      hardening,
      ...(irsa === undefined ? {} : { serviceAccount: serviceAccountIssuer(irsa) }),
    };
    state.set({ nodeName, token, certificateKey, irsa, addons, initInput });
    if (hardening.encryptionAtRest?.provider === 'secretbox')
      state.set({ encryptionKey: generateEncryptionKey() });
    return undefined;
  },
};

const bootstrapLease = leaseStep<BootstrapState, FlowDeps>({
  name: 'bootstrap-lease',
  describe: (state) => `take the bootstrap lease of cluster ${state.get('identity').clusterName}`,
  async request({ state, deps }) {
    const identity = state.get('identity');
    return {
      lock: state.get('ports').lock(identity.clusterName, 'bootstrap'),
      options: {
        owner: identity.instance.instanceId,
        clock: deps.clock,
        leaseMs: deps.settings.leaseMs,
        pollMs: deps.settings.pollMs,
        acquireDeadlineMs: deps.clock.nowMs() + deps.settings.waitTimeoutMs,
      },
    };
  },
  acquired({ state, logger }, lease) {
    logger.info({ fence: lease.fence }, 'holding the bootstrap lease; initializing the cluster');
    state.set({ lease });
  },
  busy(_ctx, _current, notAcquired) {
    throw notAcquired;
  },
});

const recheckInitialized: BootstrapStep = {
  name: 'recheck-initialized',
  kind: 'read',
  afterChange: true,
  describe: () => 'check again, under the lease, that no other master initialized the cluster meanwhile',
  async run({ state, deps, signal }) {
    const current = await state.get('ports').records.readRecord(state.get('identity').clusterName, signal);
    if (current === undefined) return undefined;
    state.set({ record: current });
    if (current.initialized === undefined) return undefined;
    deps.logger.info('another master initialized the cluster while this one waited for the lease');
    return alreadyInitialized(current, deps);
  },
};

const writeInitConfig: BootstrapStep = {
  name: 'write-init-config',
  kind: 'change',
  describe: () => `write the kubeadm init config to ${INIT_CONFIG_PATH} (mode 0600)`,
  files: (state) => [
    { path: INIT_CONFIG_PATH, content: renderInitConfig(state.get('initInput'), { mode: 'redacted' }) },
  ],
  async run({ state, deps }) {
    await deps.fs.writePrivateFile(INIT_CONFIG_PATH, renderInitConfig(state.get('initInput')));
    return undefined;
  },
  cleanup: {
    describe: `remove ${INIT_CONFIG_PATH} (it holds the bootstrap token and certificate key)`,
    run: async ({ deps }) => deps.fs.remove(INIT_CONFIG_PATH),
    removesSecrets: true,
  },
};

const resetPartialInit: BootstrapStep = {
  name: 'reset-partial-init',
  kind: 'change',
  describe: () => 'reset the remains of an earlier, unfinished init (kubeadm reset -f)',
  skip: (state) =>
    state.get('membership').state === 'partial' ? undefined : 'no earlier, unfinished init to reset',
  noUndo: 'kubeadm reset leaves the node clean; the next steps start from there',
  async run({ deps, signal }) {
    await resetAfterFailure(deps, 'an earlier init did not finish', signal);
    return undefined;
  },
};

const kubeadmInit: BootstrapStep = {
  name: 'kubeadm-init',
  kind: 'change',
  describe: () => 'run kubeadm init --upload-certs',
  async run({ deps, signal }) {
    const startedMs = deps.clock.nowMs();
    await deps.kubeadm.run(
      [
        'init',
        '--config',
        deps.fs.resolve(INIT_CONFIG_PATH),
        '--upload-certs',
        '--skip-token-print',
        '--skip-certificate-key-print',
      ],
      { timeoutMs: deps.settings.kubeadmTimeoutMs, signal },
    );
    deps.logger.info({ took: formatDurationMs(deps.clock.nowMs() - startedMs) }, 'kubeadm init finished');
    return undefined;
  },
  undo: {
    describe: 'run kubeadm reset -f, so the next attempt starts clean',
    run: async ({ deps, failure, signal }) =>
      resetAfterFailure(deps, `bootstrap stopped at ${failure?.step ?? 'a later step'}`, signal),
  },
};

const caCertHashStep: BootstrapStep = {
  name: 'ca-cert-hash',
  kind: 'read',
  afterChange: true,
  describe: () => `compute the CA certificate hash from ${CA_CERT_PATH} and read ${ADMIN_CONF_PATH}`,
  async run({ state, deps }) {
    const caPem = await deps.fs.readText(CA_CERT_PATH);
    if (caPem === undefined) throw new KubeadmError(`kubeadm init did not write ${CA_CERT_PATH}`);
    const adminConf = await deps.fs.readText(ADMIN_CONF_PATH);
    if (adminConf === undefined) throw new KubeadmError(`kubeadm init did not write ${ADMIN_CONF_PATH}`);
    state.set({ caHash: caCertHash(caPem, CA_CERT_PATH), adminConf: new Secret(adminConf) });
    return undefined;
  },
};

const irsaStep: BootstrapStep = {
  name: 'irsa',
  kind: 'change',
  describe: (state) => {
    const irsa = state.get('irsa');
    return `publish the OIDC discovery document and JWKS for issuer ${irsa?.issuer} to s3://${irsa?.bucket}`;
  },
  skip: (state) => (state.get('irsa') === undefined ? 'IRSA is not configured (addons.irsa)' : undefined),
  noUndo: "the next init publishes its own service account key's documents over them",
  async run({ state, deps }) {
    const irsa = state.get('irsa');
    if (irsa !== undefined) await publishOidcDocuments(deps, irsa);
    return undefined;
  },
};

const addonsStep: BootstrapStep = {
  name: 'addons',
  kind: 'change',
  describe: (state) =>
    `apply the addons (${state
      .get('addons')
      .map((addon) => addon.description)
      .join(', ')}) with kubectl apply --server-side (${ADMIN_CONF_PATH})`,
  skip: (state) => (state.get('addons').length === 0 ? 'no addons configured' : undefined),
  noUndo: 'the undo of kubeadm-init resets the node; what was applied goes with its API server',
  async run({ state, deps, signal }) {
    await applyAddons(
      {
        kubectl: deps.kubectl,
        fs: deps.fs,
        logger: deps.logger,
        clock: deps.clock,
        kubeconfigPath: ADMIN_CONF_PATH,
        timeoutMs: deps.settings.addonTimeoutMs,
        signal,
        onAddon: (addon) => state.set({ applyingAddon: `addon ${addon.name}` }),
      },
      state.get('addons'),
    );
    return undefined;
  },
};

const membershipFile: BootstrapStep = {
  name: 'membership-file',
  kind: 'change',
  describe: () => `remember that this instance initialized the cluster (${MEMBERSHIP_PATH}, 0600)`,
  async run({ state, deps }) {
    const lease = state.get('lease');
    await writeMembership(
      deps.fs,
      membershipFor(lease.cluster, 'control-plane', lease.owner, 'init', deps.clock.nowMs()),
    );
    return undefined;
  },
  undo: {
    describe: `remove ${MEMBERSHIP_PATH}`,
    run: async ({ deps }) => deps.fs.remove(MEMBERSHIP_PATH),
  },
};

const publishAndMarkInitialized: BootstrapStep = {
  name: 'publish-join-material',
  kind: 'change',
  describe: () =>
    'publish the join, control-plane and admin.conf secrets, and mark the cluster initialized (under the lease)',
  commits:
    'once the cluster is marked initialized, other instances join it: this master is never reset after that',
  async run({ state, deps, signal }) {
    const { logger, clock } = deps;
    const lease = state.get('lease');
    const record = state.get('record');
    const cluster = lease.cluster;
    const nowMs = clock.nowMs();
    const tokenExpiresAt = new Date(nowMs + deps.settings.tokenTtlMs).toISOString();
    const certificateKeyExpiresAt = new Date(nowMs + UPLOADED_CERTS_LIFETIME_MS).toISOString();
    const updatedAt = new Date(nowMs).toISOString();
    const endpoint = apiAddress(record.apiEndpoint);
    const material: JoinMaterial = {
      join: {
        schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
        apiEndpoint: `${endpoint.host}:${endpoint.port}`,
        token: state.get('token'),
        tokenExpiresAt,
        caCertHashes: [state.get('caHash')],
        kubernetesVersion: record.kubernetesVersion,
        updatedAt,
      },
      controlPlane: {
        schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
        certificateKey: state.get('certificateKey'),
        certificateKeyExpiresAt,
        updatedAt,
        ...(state.has('encryptionKey') ? { encryptionKey: state.get('encryptionKey') } : {}),
      },
      adminConf: state.get('adminConf'),
    };
    const store = await deps.joinMaterial();
    signal.throwIfAborted();
    const published = await store.publish(
      cluster,
      material,
      record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId },
    );
    logger.info(
      { cluster, caCertHash: state.get('caHash'), tokenExpiresAt },
      'published join material to Secrets Manager',
    );
    signal.throwIfAborted();
    const records = state.get('ports').records;
    // The versions just written are recorded by the same fenced write that marks the cluster
    // initialized: if this master lost its lease meanwhile, nothing it published is ever read.
    const versions = publishedVersions(cluster, published);
    await records.markInitialized(lease, clock.nowMs(), signal, {
      updatedAt,
      tokenExpiresAt,
      certificateKeyExpiresAt,
      versions,
    });
    logger.info({ cluster, fence: lease.fence, versions }, 'marked the cluster initialized');
    return undefined;
  },
};

const memberRecord: BootstrapStep = {
  name: 'member-record',
  kind: 'change',
  describe: () => 'record this control-plane member (and its boot timeline) in the cluster state',
  noUndo:
    'a member record only describes the member: the cluster is initialized whether or not it is written',
  async run({ state, deps, signal, progress }) {
    const lease = state.get('lease');
    await state.get('ports').records.recordMember(
      lease.cluster,
      {
        instanceId: lease.owner,
        role: 'control-plane',
        joinedAt: new Date(deps.clock.nowMs()).toISOString(),
        fence: lease.fence,
        nodeName: state.get('nodeName'),
        bootTimeline: memberTimeline(progress(), state.get('identity')),
      },
      signal,
    );
    deps.logger.info({ cluster: lease.cluster }, `initialized cluster ${lease.cluster}`);
    return undefined;
  },
};

/**
 * The addons this master will apply, rendered and read before the lease is taken, so a bad
 * addons.d file name or an unknown Kubernetes minor stops the run before anything changes.
 */
async function readAddons(deps: FlowDeps, record: ClusterRecord): Promise<Addon[]> {
  const dir = deps.config.addons?.manifestsDir ?? DEFAULT_MANIFESTS_DIR;
  let names: string[];
  try {
    names = (await deps.fs.list(dir)).filter(isManifestFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    throw new ConfigError(`addons.manifestsDir ${dir} is not a directory`, {
      hint: 'point addons.manifestsDir at a directory of *.yaml manifests (default /etc/kboot/addons.d)',
    });
  }
  const files: { name: string; text: string }[] = [];
  for (const name of names) {
    const text = await deps.fs.readText(`${dir}/${name}`);
    if (text !== undefined) files.push({ name, text });
  }
  return planAddons({
    clusterName: record.clusterName,
    podCidr: record.podCidr,
    kubernetesVersion: record.kubernetesVersion,
    addons: effectiveClusterAddons(record, deps.config.addons),
    ...(deps.config.addons?.images === undefined ? {} : { images: deps.config.addons.images }),
    manifestsDir: { path: dir, files },
  });
}

/** The OIDC discovery document and the JWKS of the service account key, to the IRSA bucket. */
async function publishOidcDocuments(deps: FlowDeps, irsa: IrsaSettings): Promise<void> {
  const publicKeyPem = await deps.fs.readText(SERVICE_ACCOUNT_PUBLIC_KEY_PATH);
  if (publicKeyPem === undefined) {
    throw new KubeadmError(`kubeadm init did not write ${SERVICE_ACCOUNT_PUBLIC_KEY_PATH}`);
  }
  const documents = oidcDocuments(irsa.issuer, publicKeyPem, SERVICE_ACCOUNT_PUBLIC_KEY_PATH);
  await (await deps.oidcPublisher()).publish(irsa.bucket, documents.objects);
  deps.logger.info(
    {
      issuer: irsa.issuer,
      bucket: irsa.bucket,
      keyIds: documents.jwks.keys.map((key) => key.kid),
    },
    'published the OIDC discovery document and JWKS for IRSA to S3',
  );
}

export const bootstrapMasterFlow: Flow<BootstrapState, FlowDeps, FlowResult> = {
  name: 'bootstrap-master',
  steps: [
    identityStep('bootstrap-master', 'control-plane'),
    leftoverConfigsStep(),
    membershipStep(),
    kubeadmVersion,
    readRecord,
    writeRecord,
    versionSkew,
    initInputs,
    bootstrapLease,
    recheckInitialized,
    writeInitConfig,
    resetPartialInit,
    hardeningFilesStep<BootstrapState>(
      (state) => state.get('record').kubernetesVersion,
      (state) => state.peek('encryptionKey'),
    ),
    kubeadmInit,
    caCertHashStep,
    irsaStep,
    addonsStep,
    membershipFile,
    publishAndMarkInitialized,
    memberRecord,
  ],
  result(state, run) {
    const base = state.get('base');
    if (run.ended === ALREADY_MEMBER) return alreadyMemberResult(state);
    if (run.ended === ALREADY_INITIALIZED) {
      return {
        ...base,
        outcome: 'already-initialized',
        summary: `cluster ${base.cluster} is already initialized`,
      };
    }
    if (run.dryRun) return plannedResult(state);
    return {
      ...base,
      outcome: 'initialized',
      summary: `initialized cluster ${base.cluster} on ${state.get('nodeName')}`,
    };
  },
  errorFor(failure, state) {
    // Once the lease is held, a failure of any class but these means the node could not be set
    // up: kubeadm's exit code, naming the step (the node has been reset). AWS's own failures keep
    // their class (unavailable 3, denied 4, throttled 5): a script retries those, not kubeadm.
    const { error } = failure;
    if (
      !state.has('lease') ||
      failure.cause !== 'failed' ||
      error instanceof StateConflictError ||
      error instanceof KubeadmError ||
      error instanceof KubectlError ||
      error instanceof ClusterTimeoutError ||
      error instanceof AwsUnavailableError ||
      error instanceof AwsDeniedError ||
      error instanceof AwsThrottledError
    )
      return error;
    return new KubeadmError(
      `bootstrapping cluster ${state.get('lease').cluster} failed at ${failure.step}: ${error.message}`,
      { cause: error, hint: error.hint ?? 'kboot reset this node; run it again' },
    );
  },
  async recordFailure({ state, failure, deps, signal }) {
    // Only a master that held the lease changed anything worth recording.
    const lease = state.peek('lease');
    if (lease === undefined) return;
    const step = failure.step === 'addons' ? (state.peek('applyingAddon') ?? failure.step) : failure.step;
    await state.get('ports').records.recordFailure(
      lease.cluster,
      {
        by: lease.owner,
        at: new Date(deps.clock.nowMs()).toISOString(),
        step,
        message: redactText(failure.error.message),
      },
      signal,
    );
  },
};
