/**
 * Renders the kubeadm config files kboot hands to `kubeadm --config`: data in, YAML text out,
 * built as objects and serialized with the `yaml` package (never string templates).
 *
 * Differences between the two config APIs that matter here:
 *  - v1beta4 writes `extraArgs` and `kubeletExtraArgs` as lists of {name, value} (a flag may
 *    repeat); v1beta3 writes them as maps (a flag appears once);
 *  - v1beta4 keeps kubeadm's waits in `timeouts` (InitConfiguration, JoinConfiguration); v1beta3
 *    has only `apiServer.timeoutForControlPlane` and `discovery.timeout`.
 * A node's kubelet gets `cloud-provider: external` unless the input says `cloudProvider: 'none'`
 * (the flows pass `none` when the cluster runs no AWS cloud-controller-manager to set provider IDs
 * and addresses), and the Node name is the instance's private DNS name.
 */

import { Document } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { REDACTED, type Secret } from '../../core/secrets.js';
import { formatGoDuration } from './go-duration.js';
import { type ClusterConfigurationHardening, clusterConfigurationHardening } from './hardening.js';
import { KINDS_READ_BY, mergeOverrides } from './overrides.js';
import type {
  BootstrapTokenInput,
  InitConfigInput,
  JoinConfigInput,
  KubeadmArg,
  KubeadmDocument,
  KubeadmTimeouts,
  RenderMode,
  TokenCreateConfigInput,
  UploadCertsConfigInput,
} from './types.js';
import {
  checkArgs,
  checkAudiences,
  checkBootstrapToken,
  checkBootstrapTokenSecret,
  checkCaCertHashes,
  checkCertificateKeySecret,
  checkCidrs,
  checkDurationMs,
  checkHostPort,
  checkHttpsUrl,
  checkIpv4,
  checkNodeName,
  checkPort,
  checkSan,
  normalizeKubernetesVersion,
} from './validate.js';
import { KUBEADM_API_V1BETA4, type KubeadmApiVersion } from './version.js';

export interface RenderOptions {
  /** `reveal` (default) for the file kubeadm reads; `redacted` for `--dry-run` output. */
  readonly mode?: RenderMode;
}

export const DEFAULT_BOOTSTRAP_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
export const DEFAULT_BOOTSTRAP_TOKEN_USAGES = ['signing', 'authentication'] as const;
export const DEFAULT_API_SERVER_PORT = 6443;
export const CLOUD_PROVIDER_EXTERNAL: KubeadmArg = { name: 'cloud-provider', value: 'external' };
const KUBELET_CONFIG_API = 'kubelet.config.k8s.io/v1beta1';

type Show = (secret: Secret) => string;

function secretWriter(options: RenderOptions): Show {
  return options.mode === 'redacted' ? () => REDACTED : (secret) => secret.reveal();
}

function isV1beta4(apiVersion: KubeadmApiVersion): boolean {
  return apiVersion === KUBEADM_API_V1BETA4;
}

/** `extraArgs` / `kubeletExtraArgs` in the shape the API version takes. */
function renderArgs(apiVersion: KubeadmApiVersion, args: readonly KubeadmArg[], field: string): unknown {
  checkArgs(args, field);
  if (isV1beta4(apiVersion)) return args.map((arg) => ({ name: arg.name, value: arg.value }));
  const map: Record<string, string> = {};
  for (const arg of args) {
    if (Object.hasOwn(map, arg.name)) {
      throw new ConfigError(
        `kubeadm config: ${field} repeats "${arg.name}", which ${apiVersion} cannot express`,
        {
          hint: 'give each flag once (only kubeadm.k8s.io/v1beta4, kubeadm 1.31+, takes repeated flags)',
        },
      );
    }
    map[arg.name] = arg.value;
  }
  return map;
}

function kubeletArgs(input: {
  apiVersion: KubeadmApiVersion;
  cloudProvider?: 'external' | 'none';
  kubeletExtraArgs?: readonly KubeadmArg[];
}): unknown {
  const args = [
    ...(input.cloudProvider === 'none' ? [] : [CLOUD_PROVIDER_EXTERNAL]),
    ...(input.kubeletExtraArgs ?? []),
  ];
  return args.length === 0
    ? undefined
    : renderArgs(input.apiVersion, args, 'nodeRegistration.kubeletExtraArgs');
}

function nodeRegistration(input: InitConfigInput | JoinConfigInput): Record<string, unknown> {
  checkNodeName(input.nodeName, 'nodeRegistration.name');
  const kubeletExtraArgs = kubeletArgs(input);
  return {
    name: input.nodeName,
    ...(input.criSocket === undefined ? {} : { criSocket: input.criSocket }),
    ...(kubeletExtraArgs === undefined ? {} : { kubeletExtraArgs }),
  };
}

function renderBootstrapTokens(tokens: readonly BootstrapTokenInput[], show: Show): unknown[] {
  return tokens.map((token, index) => {
    checkBootstrapToken(token, `bootstrapTokens[${index}]`);
    return {
      token: show(token.token),
      ...(token.description === undefined ? {} : { description: token.description }),
      ttl: formatGoDuration(token.ttlMs),
      usages: [...(token.usages ?? DEFAULT_BOOTSTRAP_TOKEN_USAGES)],
      groups: [...(token.groups ?? [DEFAULT_BOOTSTRAP_TOKEN_GROUP])],
    };
  });
}

const V1BETA4_TIMEOUT_FIELDS: readonly (readonly [keyof KubeadmTimeouts, string])[] = [
  ['controlPlaneComponentHealthCheckMs', 'controlPlaneComponentHealthCheck'],
  ['kubeletHealthCheckMs', 'kubeletHealthCheck'],
  ['kubernetesApiCallMs', 'kubernetesAPICall'],
  ['etcdApiCallMs', 'etcdAPICall'],
  ['tlsBootstrapMs', 'tlsBootstrap'],
  ['discoveryMs', 'discovery'],
];

/** `timeouts` of a v1beta4 Init/JoinConfiguration; undefined when none is set. */
function v1beta4Timeouts(timeouts: KubeadmTimeouts | undefined): Record<string, string> | undefined {
  if (timeouts === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [from, to] of V1BETA4_TIMEOUT_FIELDS) {
    const valueMs = timeouts[from];
    if (valueMs === undefined) continue;
    checkDurationMs(valueMs, `timeouts.${to}`);
    out[to] = formatGoDuration(valueMs);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function v1beta3Timeout(valueMs: number | undefined, field: string): string | undefined {
  if (valueMs === undefined) return undefined;
  checkDurationMs(valueMs, field);
  return formatGoDuration(valueMs);
}

function apiServer(
  input: InitConfigInput,
  hardening: ClusterConfigurationHardening | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sans = input.certSANs ?? [];
  for (const [index, san] of sans.entries()) checkSan(san, `apiServer.certSANs[${index}]`);
  if (sans.length > 0) out.certSANs = [...sans];
  const args: KubeadmArg[] = [];
  const serviceAccount = input.serviceAccount;
  if (serviceAccount !== undefined) {
    checkHttpsUrl(serviceAccount.issuer, 'serviceAccount.issuer');
    args.push({ name: 'service-account-issuer', value: serviceAccount.issuer });
    const audiences = serviceAccount.apiAudiences ?? [];
    checkAudiences(audiences, 'serviceAccount.apiAudiences');
    if (audiences.length > 0) args.push({ name: 'api-audiences', value: audiences.join(',') });
    if (serviceAccount.jwksUri !== undefined) {
      checkHttpsUrl(serviceAccount.jwksUri, 'serviceAccount.jwksUri');
      args.push({ name: 'service-account-jwks-uri', value: serviceAccount.jwksUri });
    }
  }
  if (hardening !== undefined) args.push(...hardening.apiServerArgs);
  if (args.length > 0) out.extraArgs = renderArgs(input.apiVersion, args, 'apiServer.extraArgs');
  if (hardening !== undefined && hardening.apiServerVolumes.length > 0) {
    out.extraVolumes = hardening.apiServerVolumes.map((volume) => ({ ...volume }));
  }
  if (!isV1beta4(input.apiVersion)) {
    const timeout = v1beta3Timeout(
      input.timeouts?.controlPlaneComponentHealthCheckMs,
      'apiServer.timeoutForControlPlane',
    );
    if (timeout !== undefined) out.timeoutForControlPlane = timeout;
  }
  return out;
}

function localApiEndpoint(advertiseAddress: string, bindPort: number | undefined, field: string): unknown {
  checkIpv4(advertiseAddress, `${field}.advertiseAddress`);
  const port = bindPort ?? DEFAULT_API_SERVER_PORT;
  checkPort(port, `${field}.bindPort`);
  return { advertiseAddress, bindPort: port };
}

/** The documents of `kubeadm init --config`, overrides merged. */
export function initDocuments(input: InitConfigInput, options: RenderOptions = {}): KubeadmDocument[] {
  const show = secretWriter(options);
  const v1beta4 = isV1beta4(input.apiVersion);
  if (input.clusterName.trim() === '') {
    throw new ConfigError('kubeadm config: clusterName is empty', { hint: 'give the cluster a name' });
  }
  checkHostPort(input.controlPlaneEndpoint, 'controlPlaneEndpoint');
  checkCidrs(input.podSubnet, 'networking.podSubnet');
  checkCidrs(input.serviceSubnet, 'networking.serviceSubnet');

  const init: KubeadmDocument = { apiVersion: input.apiVersion, kind: 'InitConfiguration' };
  const tokens = input.bootstrapTokens ?? [];
  if (tokens.length > 0) init.bootstrapTokens = renderBootstrapTokens(tokens, show);
  init.nodeRegistration = nodeRegistration(input);
  init.localAPIEndpoint = localApiEndpoint(input.advertiseAddress, input.bindPort, 'localAPIEndpoint');
  if (input.certificateKey !== undefined) {
    checkCertificateKeySecret(input.certificateKey, 'certificateKey');
    init.certificateKey = show(input.certificateKey);
  }
  const timeouts = v1beta4 ? v1beta4Timeouts(input.timeouts) : undefined;
  if (timeouts !== undefined) init.timeouts = timeouts;

  const cluster: KubeadmDocument = {
    apiVersion: input.apiVersion,
    kind: 'ClusterConfiguration',
    clusterName: input.clusterName,
    kubernetesVersion: normalizeKubernetesVersion(input.kubernetesVersion, 'kubernetesVersion'),
    controlPlaneEndpoint: input.controlPlaneEndpoint,
    networking: { podSubnet: input.podSubnet, serviceSubnet: input.serviceSubnet },
  };
  const hardening =
    input.hardening === undefined
      ? undefined
      : clusterConfigurationHardening(input.hardening, input.kubernetesVersion);
  const server = apiServer(input, hardening);
  if (Object.keys(server).length > 0) cluster.apiServer = server;
  if (hardening !== undefined && hardening.controllerManagerArgs.length > 0) {
    cluster.controllerManager = {
      extraArgs: renderArgs(input.apiVersion, hardening.controllerManagerArgs, 'controllerManager.extraArgs'),
    };
  }
  if (hardening !== undefined && hardening.schedulerArgs.length > 0) {
    cluster.scheduler = {
      extraArgs: renderArgs(input.apiVersion, hardening.schedulerArgs, 'scheduler.extraArgs'),
    };
  }
  if (input.imageRepository !== undefined) cluster.imageRepository = input.imageRepository;

  const documents = [init, cluster];
  if (input.kubeletConfiguration !== undefined || hardening !== undefined) {
    documents.push({
      apiVersion: KUBELET_CONFIG_API,
      kind: 'KubeletConfiguration',
      ...(input.kubeletConfiguration === undefined
        ? {}
        : {
            cgroupDriver: input.kubeletConfiguration.cgroupDriver,
            ...(input.kubeletConfiguration.shutdownGracePeriod === undefined
              ? {}
              : { shutdownGracePeriod: input.kubeletConfiguration.shutdownGracePeriod }),
            ...(input.kubeletConfiguration.shutdownGracePeriodCriticalPods === undefined
              ? {}
              : {
                  shutdownGracePeriodCriticalPods: input.kubeletConfiguration.shutdownGracePeriodCriticalPods,
                }),
          }),
      ...(hardening?.kubelet ?? {}),
    });
  }
  return mergeOverrides(documents, input.overrides ?? [], {
    appendKinds: KINDS_READ_BY.init.filter(
      (kind) => kind !== 'InitConfiguration' && kind !== 'ClusterConfiguration',
    ),
  });
}

/**
 * The kubelet's graceful node shutdown in every kubelet's config (kubeadm carries the init
 * KubeletConfiguration to every node that joins): the backstop of a worker's leave, so a node
 * that gets no drain from the control plane still stops its pods gracefully when the instance
 * shuts down (the last 20 s of the 60 for critical pods).
 */
export const GRACEFUL_NODE_SHUTDOWN = {
  shutdownGracePeriod: '60s',
  shutdownGracePeriodCriticalPods: '20s',
} as const;

/** The documents of `kubeadm join --config`, overrides merged. */
export function joinDocuments(input: JoinConfigInput, options: RenderOptions = {}): KubeadmDocument[] {
  const show = secretWriter(options);
  const v1beta4 = isV1beta4(input.apiVersion);
  const { discovery } = input;
  checkHostPort(discovery.apiServerEndpoint, 'discovery.bootstrapToken.apiServerEndpoint');
  checkBootstrapTokenSecret(discovery.token, 'discovery.bootstrapToken.token');
  checkCaCertHashes(discovery.caCertHashes, 'discovery.bootstrapToken.caCertHashes');

  const discoveryDocument: Record<string, unknown> = {
    bootstrapToken: {
      apiServerEndpoint: discovery.apiServerEndpoint,
      token: show(discovery.token),
      caCertHashes: [...discovery.caCertHashes],
    },
  };
  if (!v1beta4) {
    const timeout = v1beta3Timeout(input.timeouts?.discoveryMs, 'discovery.timeout');
    if (timeout !== undefined) discoveryDocument.timeout = timeout;
  }
  const join: KubeadmDocument = {
    apiVersion: input.apiVersion,
    kind: 'JoinConfiguration',
    discovery: discoveryDocument,
    nodeRegistration: nodeRegistration(input),
  };
  if (input.controlPlane !== undefined) {
    checkCertificateKeySecret(input.controlPlane.certificateKey, 'controlPlane.certificateKey');
    join.controlPlane = {
      localAPIEndpoint: localApiEndpoint(
        input.controlPlane.advertiseAddress,
        input.controlPlane.bindPort,
        'controlPlane.localAPIEndpoint',
      ),
      certificateKey: show(input.controlPlane.certificateKey),
    };
  }
  const timeouts = v1beta4 ? v1beta4Timeouts(input.timeouts) : undefined;
  if (timeouts !== undefined) join.timeouts = timeouts;
  return mergeOverrides([join], input.overrides ?? []);
}

/** `kubeadm token create --config`: the tokens to create, in an InitConfiguration. */
export function tokenCreateDocuments(
  input: TokenCreateConfigInput,
  options: RenderOptions = {},
): KubeadmDocument[] {
  if (input.bootstrapTokens.length === 0) {
    throw new ConfigError('kubeadm config: no bootstrap token to create', {
      hint: 'pass at least one token (generateBootstrapToken)',
    });
  }
  const init: KubeadmDocument = {
    apiVersion: input.apiVersion,
    kind: 'InitConfiguration',
    bootstrapTokens: renderBootstrapTokens(input.bootstrapTokens, secretWriter(options)),
  };
  if (input.nodeName !== undefined) {
    checkNodeName(input.nodeName, 'nodeRegistration.name');
    init.nodeRegistration = { name: input.nodeName };
  }
  return [init, minimalCluster(input)];
}

/** `kubeadm init phase upload-certs --upload-certs --config`: the key in an InitConfiguration. */
export function uploadCertsDocuments(
  input: UploadCertsConfigInput,
  options: RenderOptions = {},
): KubeadmDocument[] {
  checkCertificateKeySecret(input.certificateKey, 'certificateKey');
  const init: KubeadmDocument = {
    apiVersion: input.apiVersion,
    kind: 'InitConfiguration',
  };
  if (input.nodeName !== undefined) {
    checkNodeName(input.nodeName, 'nodeRegistration.name');
    init.nodeRegistration = { name: input.nodeName };
  }
  init.certificateKey = secretWriter(options)(input.certificateKey);
  return [init, minimalCluster(input)];
}

function minimalCluster(input: {
  apiVersion: KubeadmApiVersion;
  kubernetesVersion: string;
  clusterName?: string;
  controlPlaneEndpoint?: string;
}): KubeadmDocument {
  const cluster: KubeadmDocument = { apiVersion: input.apiVersion, kind: 'ClusterConfiguration' };
  if (input.clusterName !== undefined) cluster.clusterName = input.clusterName;
  cluster.kubernetesVersion = normalizeKubernetesVersion(input.kubernetesVersion, 'kubernetesVersion');
  if (input.controlPlaneEndpoint !== undefined) {
    checkHostPort(input.controlPlaneEndpoint, 'controlPlaneEndpoint');
    cluster.controlPlaneEndpoint = input.controlPlaneEndpoint;
  }
  return cluster;
}

/** Multi-document YAML, with a first-line comment saying where it came from. */
export function stringifyDocuments(documents: readonly KubeadmDocument[]): string {
  return documents
    .map((document, index) => {
      const yaml = new Document(document);
      if (index === 0) {
        yaml.commentBefore = " Rendered by kboot. Do not edit: changes belong in kboot's kubeadm overrides.";
      }
      return yaml.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

export function renderInitConfig(input: InitConfigInput, options: RenderOptions = {}): string {
  return stringifyDocuments(initDocuments(input, options));
}

export function renderJoinConfig(input: JoinConfigInput, options: RenderOptions = {}): string {
  return stringifyDocuments(joinDocuments(input, options));
}

export function renderTokenCreateConfig(input: TokenCreateConfigInput, options: RenderOptions = {}): string {
  return stringifyDocuments(tokenCreateDocuments(input, options));
}

export function renderUploadCertsConfig(input: UploadCertsConfigInput, options: RenderOptions = {}): string {
  return stringifyDocuments(uploadCertsDocuments(input, options));
}
