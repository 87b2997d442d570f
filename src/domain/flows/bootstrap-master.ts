/**
 * `kboot bootstrap-master`: the first control-plane instance initializes the cluster.
 *   identity → the cluster record (written here, conditionally, when no `kboot cluster create`
 *   made it) → already initialized? → take the bootstrap lease → re-check → render the
 *   InitConfiguration with a bootstrap token and certificate key kboot generated (0600) →
 *   kubeadm init --upload-certs → CA hash from ca.crt → with IRSA (`addons.irsa`), the OIDC
 *   discovery document and JWKS of sa.pub to the bucket → the addons (CNI, AWS
 *   cloud-controller-manager, addons.d; src/domain/addons) with kubectl and admin.conf → the
 *   node-leave credential (src/domain/leave/publish-node-leave.ts), so a worker can leave from its
 *   first minute → publish join, control-plane and admin.conf secrets → set `initialized` (a
 *   transaction that checks the lease) → release.
 * Anything failing after kubeadm started: kubeadm reset -f, the failure recorded in the cluster
 * record, the lease released, exit with the kubeadm-failed code (kubectl-failed for an addon or
 * the node-leave credential). A retry starts over cleanly.
 */

import { formatDurationMs } from '../../core/duration.js';
import {
  ConfigError,
  InternalError,
  isKbootError,
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
import { nodeLeaveSecretId } from '../join/secret-ids.js';
import { caCertHash } from '../kubeadm/ca-hash.js';
import { renderInitConfig } from '../kubeadm/render.js';
import { generateBootstrapToken, generateCertificateKey } from '../kubeadm/tokens.js';
import { assertVersionSkew, formatKubeVersion, parseKubernetesVersion } from '../kubeadm/version.js';
import { NODE_LEAVE_NAMESPACE, NODE_LEAVE_SERVICE_ACCOUNT } from '../leave/node-leave-credential.js';
import { apiAddress, type ClusterRecord, newClusterRecord } from '../state/cluster-record.js';
import { holdLease } from '../state/hold-lease.js';
import type { LeaseRef } from '../state/lease.js';
import {
  type LocalKubeadm,
  localKubeadm,
  readKubeadmOverrides,
  resetAfterFailure,
  startFlow,
} from './common.js';
import type { ClusterStatePorts, FlowDeps, FlowResult } from './deps.js';
import { membershipFor, readMembership, writeMembership } from './membership.js';
import { ADMIN_CONF_PATH, CA_CERT_PATH, INIT_CONFIG_PATH } from './paths.js';
import type { Steps } from './steps.js';

/** kubeadm deletes the certificates `--upload-certs` stored after two hours. */
export const UPLOADED_CERTS_LIFETIME_MS = 2 * 60 * 60_000;
const DEFAULT_POD_CIDR = '10.244.0.0/16';
const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

export interface BootstrapOptions {
  /** Wait for a lease another master holds (`bootstrap-master`, `boot`), until the wait deadline. */
  waitForLease: boolean;
}

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

async function ensureRecord(
  deps: FlowDeps,
  state: ClusterStatePorts,
  identity: Identity,
  kubeadm: LocalKubeadm,
): Promise<ClusterRecord> {
  const existing = await state.records.readRecord(identity.clusterName, deps.signal);
  if (existing !== undefined) return existing;
  const proposed = await proposedRecord(deps, identity, kubeadm, state.records.tableName);
  const outcome = await state.records.putRecordIfAbsent(proposed, deps.signal);
  if (outcome.created) {
    deps.logger.info(
      { cluster: identity.clusterName, apiEndpoint: proposed.apiEndpoint, table: state.records.tableName },
      'wrote the cluster record',
    );
  } else if (outcome.differences.length > 0) {
    deps.logger.warn(
      { differences: outcome.differences },
      'another master wrote the cluster record first with different settings; using its record',
    );
  }
  return outcome.record;
}

export async function bootstrapMaster(
  deps: FlowDeps,
  steps: Steps,
  options: BootstrapOptions = { waitForLease: true },
): Promise<FlowResult> {
  const { logger, clock } = deps;
  const { identity, base, alreadyMember } = await startFlow(deps, steps, 'bootstrap-master', 'control-plane');
  if (alreadyMember !== undefined) return alreadyMember;
  const cluster = identity.clusterName;
  const owner = identity.instance.instanceId;
  const kubeadm = await steps.read('kubeadm-version', () => localKubeadm(deps));
  const state = await deps.state();
  const record = steps.dryRun
    ? ((await state.records.readRecord(cluster, deps.signal)) ??
      (await proposedRecord(deps, identity, kubeadm, state.records.tableName)))
    : await steps.read('cluster-record', () => ensureRecord(deps, state, identity, kubeadm));
  if (record.initialized !== undefined) {
    logger.info(
      { by: record.initialized.by, at: record.initialized.at },
      'the cluster is already initialized',
    );
    return { ...base, outcome: 'already-initialized', summary: `cluster ${cluster} is already initialized` };
  }
  assertVersionSkew({
    action: 'init',
    kubeadm: kubeadm.version,
    cluster: parseKubernetesVersion(record.kubernetesVersion, 'the cluster version'),
    clusterName: cluster,
  });
  const [nodeName, overrides] = await Promise.all([deps.privateDnsName(), readKubeadmOverrides(deps)]);
  const token = generateBootstrapToken();
  const certificateKey = generateCertificateKey();
  const endpoint = apiAddress(record.apiEndpoint);
  const irsaConfig = deps.config.addons?.irsa;
  const irsa = irsaConfig === undefined ? undefined : resolveIrsa(irsaConfig, record.region);
  const clusterAddons = effectiveClusterAddons(record, deps.config.addons);
  const addons = await steps.read('addons', () => readAddons(deps, record));
  const initInput = {
    apiVersion: kubeadm.apiVersion,
    nodeName,
    cloudProvider: kubeletCloudProvider(clusterAddons),
    overrides,
    clusterName: cluster,
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
    kubeletConfiguration: { cgroupDriver: 'systemd' as const },
    ...(irsa === undefined ? {} : { serviceAccount: serviceAccountIssuer(irsa) }),
  };
  if (steps.dryRun) {
    steps.planned.push({
      step: 'bootstrap-lease',
      description: `take the bootstrap lease of cluster ${cluster}, write ${INIT_CONFIG_PATH}, run kubeadm init --upload-certs${irsa === undefined ? '' : `, publish the OIDC discovery document and JWKS for issuer ${irsa.issuer} to s3://${irsa.bucket}`}`,
      files: [{ path: INIT_CONFIG_PATH, content: renderInitConfig(initInput, { mode: 'redacted' }) }],
    });
    for (const addon of addons) {
      steps.planned.push({
        step: `addon ${addon.name}`,
        description: `apply addon ${addon.description} with kubectl apply --server-side (${ADMIN_CONF_PATH})`,
      });
    }
    steps.planned.push(
      {
        step: 'node-leave-credential',
        description: `apply the node-leave RBAC and publish a token of ${NODE_LEAVE_NAMESPACE}/${NODE_LEAVE_SERVICE_ACCOUNT} as secret ${nodeLeaveSecretId(cluster)}`,
      },
      {
        step: 'publish-join-material',
        description: 'publish join material and mark the cluster initialized',
      },
    );
    return { ...base, outcome: 'planned', summary: 'dry run: nothing changed' };
  }

  const lock = state.lock(cluster, 'bootstrap');
  const result = await holdLease(
    lock,
    {
      owner,
      clock,
      logger,
      leaseMs: deps.settings.leaseMs,
      pollMs: deps.settings.pollMs,
      signal: deps.signal,
      ...(options.waitForLease ? { acquireDeadlineMs: clock.nowMs() + deps.settings.waitTimeoutMs } : {}),
    },
    async (signal, fence) => {
      const current = await state.records.readRecord(cluster, signal);
      if (current?.initialized !== undefined) return 'already-initialized' as const;
      logger.info({ fence }, 'holding the bootstrap lease; initializing the cluster');
      const lease: LeaseRef = { cluster, lock: 'bootstrap', owner, fence };
      await initialize(deps, state, {
        signal,
        lease,
        record: current ?? record,
        initInput,
        irsa,
        addons,
        token,
        certificateKey,
      });
      return 'initialized' as const;
    },
  );
  if (result === 'already-initialized') {
    logger.info('another master initialized the cluster while this one waited for the lease');
    return { ...base, outcome: 'already-initialized', summary: `cluster ${cluster} is already initialized` };
  }
  return { ...base, outcome: 'initialized', summary: `initialized cluster ${cluster} on ${nodeName}` };
}

interface InitializeInput {
  signal: AbortSignal;
  lease: LeaseRef;
  record: ClusterRecord;
  initInput: Parameters<typeof renderInitConfig>[0];
  /** Set when IRSA is configured: where the OIDC documents go. */
  irsa: IrsaSettings | undefined;
  /** Applied in this order after kubeadm init (and IRSA), before the join material. */
  addons: readonly Addon[];
  token: Secret;
  certificateKey: Secret;
}

async function initialize(deps: FlowDeps, state: ClusterStatePorts, input: InitializeInput): Promise<void> {
  const { logger, clock, fs } = deps;
  const { signal, lease, record } = input;
  const cluster = lease.cluster;
  let step = 'write-init-config';
  await fs.writePrivateFile(INIT_CONFIG_PATH, renderInitConfig(input.initInput));
  const membership = await readMembership(fs, cluster);
  if (membership.state === 'partial') await resetAfterFailure(deps, 'an earlier init did not finish');
  try {
    step = 'kubeadm-init';
    const startedMs = clock.nowMs();
    await deps.kubeadm.run(
      [
        'init',
        '--config',
        fs.resolve(INIT_CONFIG_PATH),
        '--upload-certs',
        '--skip-token-print',
        '--skip-certificate-key-print',
      ],
      { timeoutMs: deps.settings.kubeadmTimeoutMs, signal },
    );
    logger.info({ took: formatDurationMs(clock.nowMs() - startedMs) }, 'kubeadm init finished');

    step = 'ca-cert-hash';
    const caPem = await fs.readText(CA_CERT_PATH);
    if (caPem === undefined) throw new KubeadmError(`kubeadm init did not write ${CA_CERT_PATH}`);
    const caHash = caCertHash(caPem, CA_CERT_PATH);
    const adminConf = await fs.readText(ADMIN_CONF_PATH);
    if (adminConf === undefined) throw new KubeadmError(`kubeadm init did not write ${ADMIN_CONF_PATH}`);

    if (input.irsa !== undefined) {
      step = 'irsa';
      await publishOidcDocuments(deps, input.irsa);
    }

    if (input.addons.length > 0) {
      step = 'addons';
      const kubectl = deps.kubectl;
      if (kubectl === undefined) throw new InternalError('addons are configured but no kubectl is wired');
      await applyAddons(
        {
          kubectl,
          fs,
          logger,
          clock,
          kubeconfigPath: ADMIN_CONF_PATH,
          timeoutMs: deps.settings.addonTimeoutMs ?? 2 * 60_000,
          signal,
          onAddon: (addon) => {
            step = `addon ${addon.name}`;
          },
        },
        input.addons,
      );
    }

    step = 'node-leave-credential';
    const publishNodeLeave = deps.nodeLeaveCredential;
    if (publishNodeLeave === undefined)
      throw new InternalError('no node-leave credential publisher is wired');
    await publishNodeLeave(cluster, record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId }).catch(
      (error: unknown) => {
        if (!(error instanceof KubectlError)) throw error;
        throw new KubectlError(`the node-leave credential was not published: ${error.message}`, {
          cause: error,
          ...(error.hint === undefined ? {} : { hint: error.hint }),
        });
      },
    );

    step = 'publish-join-material';
    const nowMs = clock.nowMs();
    const tokenExpiresAt = new Date(nowMs + deps.settings.tokenTtlMs).toISOString();
    const certificateKeyExpiresAt = new Date(nowMs + UPLOADED_CERTS_LIFETIME_MS).toISOString();
    const updatedAt = new Date(nowMs).toISOString();
    const endpoint = apiAddress(record.apiEndpoint);
    const material: JoinMaterial = {
      join: {
        schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
        apiEndpoint: `${endpoint.host}:${endpoint.port}`,
        token: input.token,
        tokenExpiresAt,
        caCertHashes: [caHash],
        kubernetesVersion: record.kubernetesVersion,
        updatedAt,
      },
      controlPlane: {
        schemaVersion: JOIN_MATERIAL_SCHEMA_VERSION,
        certificateKey: input.certificateKey,
        certificateKeyExpiresAt,
        updatedAt,
      },
      adminConf: new Secret(adminConf),
    };
    const store = await deps.joinMaterial();
    await store.publish(
      cluster,
      material,
      record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId },
    );
    logger.info(
      { cluster, caCertHash: caHash, tokenExpiresAt },
      'published join material to Secrets Manager',
    );

    step = 'mark-initialized';
    if (signal.aborted) throw signal.reason;
    await state.records.markInitialized(lease, clock.nowMs(), signal);
    logger.info({ cluster, fence: lease.fence }, 'marked the cluster initialized');
    await state.records.updateJoinMaterial(
      cluster,
      { updatedAt, tokenExpiresAt, certificateKeyExpiresAt },
      signal,
    );
    await writeMembership(fs, membershipFor(cluster, 'control-plane', lease.owner, 'init', clock.nowMs()));
    await state.records.recordMember(cluster, {
      instanceId: lease.owner,
      role: 'control-plane',
      joinedAt: updatedAt,
      fence: lease.fence,
      nodeName: input.initInput.nodeName,
    });
  } catch (error) {
    await resetAfterFailure(deps, `bootstrap failed at ${step}`);
    const message = redactText(error instanceof Error ? error.message : String(error));
    try {
      await state.records.recordFailure(cluster, {
        by: lease.owner,
        at: new Date(clock.nowMs()).toISOString(),
        step,
        message,
      });
    } catch (recordError) {
      logger.error({ err: recordError }, 'could not record the failure in the cluster record');
    }
    if (error instanceof StateConflictError) throw error;
    if (signal.aborted && signal.reason instanceof StateConflictError) throw signal.reason;
    if (error instanceof KubeadmError || error instanceof KubectlError) throw error;
    throw new KubeadmError(`bootstrapping cluster ${cluster} failed at ${step}: ${message}`, {
      cause: error,
      hint:
        isKbootError(error) && error.hint !== undefined ? error.hint : 'kboot reset this node; run it again',
    });
  } finally {
    await fs.remove(INIT_CONFIG_PATH);
  }
}

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
