/**
 * A hardened control plane (docs/security.md "CIS Kubernetes Benchmark"): what the first master
 * writes into the ClusterConfiguration and KubeletConfiguration, and the files under
 * /etc/kubernetes that the API server reads (each 0600, written by the flows before kubeadm runs).
 *  - profiling off on the API server, controller-manager and scheduler;
 *  - TLS 1.2 (or 1.3) minimum on the API server and every kubelet;
 *  - anonymous requests only to /livez, /readyz and /healthz (an AuthenticationConfiguration with
 *    `anonymous.conditions`: beta and on by default from Kubernetes 1.32, GA in 1.34; older
 *    clusters keep kubeadm's default, which the health probes of kubeadm's static pods need);
 *  - an audit policy and a rotated audit log;
 *  - encryption at rest of Secrets: secretbox with a key made at init and kept in the control-plane
 *    secret, or a KMS v2 plugin the user runs;
 *  - kubelet serving certificates signed by the cluster CA (serverTLSBootstrap), approved by
 *    `kboot approve-csrs` on the masters.
 * Pure: settings in, arguments, volumes and file texts out.
 */

import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { REDACTED, Secret } from '../../core/secrets.js';
import { parseKubernetesVersion } from './version.js';

export const AUDIT_POLICY_DIR = '/etc/kubernetes/audit';
export const AUDIT_POLICY_PATH = `${AUDIT_POLICY_DIR}/policy.yaml`;
export const AUDIT_LOG_DIR = '/var/log/kubernetes/audit';
export const AUDIT_LOG_PATH = `${AUDIT_LOG_DIR}/audit.log`;
export const ENCRYPTION_CONFIG_DIR = '/etc/kubernetes/encryption';
export const ENCRYPTION_CONFIG_PATH = `${ENCRYPTION_CONFIG_DIR}/config.yaml`;
export const AUTHENTICATION_CONFIG_DIR = '/etc/kubernetes/authentication';
export const AUTHENTICATION_CONFIG_PATH = `${AUTHENTICATION_CONFIG_DIR}/config.yaml`;

/** Paths anonymous requests may reach when they are limited (kubeadm's probes use the first two). */
export const ANONYMOUS_HEALTH_PATHS = ['/livez', '/readyz', '/healthz'] as const;
/** `anonymous` in AuthenticationConfiguration: beta (on by default) in 1.32, GA in 1.34. */
export const ANONYMOUS_CONDITIONS_SINCE_MINOR = 32;
/** apiserver.config.k8s.io/v1 AuthenticationConfiguration is served from 1.34. */
const AUTHENTICATION_CONFIG_V1_SINCE_MINOR = 34;

export type TlsMinVersion = 'VersionTLS12' | 'VersionTLS13';

export interface AuditLogSettings {
  readonly maxAgeDays: number;
  readonly maxBackups: number;
  readonly maxSizeMb: number;
}

export type EncryptionAtRest =
  /** XSalsa20 and Poly1305 with a 32-byte key kboot makes at init and keeps in Secrets Manager. */
  | { readonly provider: 'secretbox' }
  /** A KMS v2 plugin the user runs on every master, listening on a unix socket. */
  | { readonly provider: 'kms'; readonly name: string; readonly endpoint: string };

/** The resolved settings: every field decided (defaults applied by `resolveHardening`). */
export interface ControlPlaneHardening {
  readonly profiling: boolean;
  readonly tlsMinVersion: TlsMinVersion;
  /** Limit anonymous requests to the health endpoints (where the version allows it). */
  readonly anonymousHealthOnly: boolean;
  readonly audit: AuditLogSettings | undefined;
  readonly encryptionAtRest: EncryptionAtRest | undefined;
  /** kubelet serverTLSBootstrap: serving certificates signed by the cluster CA. */
  readonly kubeletServingCertificates: boolean;
}

export const DEFAULT_AUDIT_LOG: AuditLogSettings = { maxAgeDays: 30, maxBackups: 10, maxSizeMb: 100 };
export const DEFAULT_TLS_MIN_VERSION: TlsMinVersion = 'VersionTLS12';
export const DEFAULT_KMS_NAME = 'aws-encryption-provider';

/** The node config's `hardening` section (node-config.ts), as parsed. */
export interface HardeningConfig {
  readonly profiling?: boolean | undefined;
  readonly tlsMinVersion?: TlsMinVersion | undefined;
  readonly anonymousAuth?: 'health-only' | 'kubeadm-default' | undefined;
  readonly audit?:
    | false
    | {
        readonly maxAgeDays?: number | undefined;
        readonly maxBackups?: number | undefined;
        readonly maxSizeMb?: number | undefined;
      }
    | undefined;
  readonly encryptionAtRest?:
    | false
    | {
        readonly provider?: 'secretbox' | 'kms' | undefined;
        readonly kms?: { readonly endpoint: string; readonly name?: string | undefined } | undefined;
      }
    | undefined;
  readonly kubeletServingCertificates?: boolean | undefined;
}

/** Defaults applied: everything on, unless the config turns it off. */
export function resolveHardening(config: HardeningConfig | undefined): ControlPlaneHardening {
  const audit = config?.audit;
  return {
    profiling: config?.profiling ?? false,
    tlsMinVersion: config?.tlsMinVersion ?? DEFAULT_TLS_MIN_VERSION,
    anonymousHealthOnly: (config?.anonymousAuth ?? 'health-only') === 'health-only',
    audit:
      audit === false
        ? undefined
        : {
            maxAgeDays: audit?.maxAgeDays ?? DEFAULT_AUDIT_LOG.maxAgeDays,
            maxBackups: audit?.maxBackups ?? DEFAULT_AUDIT_LOG.maxBackups,
            maxSizeMb: audit?.maxSizeMb ?? DEFAULT_AUDIT_LOG.maxSizeMb,
          },
    encryptionAtRest: encryptionAtRest(config?.encryptionAtRest),
    kubeletServingCertificates: config?.kubeletServingCertificates ?? true,
  };
}

function encryptionAtRest(config: HardeningConfig['encryptionAtRest']): EncryptionAtRest | undefined {
  if (config === false) return undefined;
  const provider = config?.provider ?? (config?.kms === undefined ? 'secretbox' : 'kms');
  if (provider === 'secretbox') {
    if (config?.kms !== undefined) {
      throw new ConfigError('hardening.encryptionAtRest: kms is set but provider is secretbox', {
        hint: 'set provider: kms to use the KMS plugin, or remove kms',
      });
    }
    return { provider };
  }
  if (config?.kms === undefined) {
    throw new ConfigError('hardening.encryptionAtRest: provider kms needs kms.endpoint', {
      hint: 'set kms.endpoint to the KMS v2 plugin socket, e.g. unix:///var/run/kmsplugin/socket.sock',
    });
  }
  return { provider, name: config.kms.name ?? DEFAULT_KMS_NAME, endpoint: config.kms.endpoint };
}

/** Whether this Kubernetes version limits anonymous requests with `anonymous.conditions`. */
export function anonymousConditionsSupported(kubernetesVersion: string): boolean {
  const version = parseKubernetesVersion(kubernetesVersion, 'kubernetesVersion');
  return version.major > 1 || version.minor >= ANONYMOUS_CONDITIONS_SINCE_MINOR;
}

/** One `extraArgs` entry. */
interface Arg {
  readonly name: string;
  readonly value: string;
}

/** One `extraVolumes` entry (kubeadm's HostPathMount). */
export interface HostPathMount {
  readonly name: string;
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly pathType: 'DirectoryOrCreate' | 'Directory';
}

export interface ClusterConfigurationHardening {
  readonly apiServerArgs: readonly Arg[];
  readonly apiServerVolumes: readonly HostPathMount[];
  readonly controllerManagerArgs: readonly Arg[];
  readonly schedulerArgs: readonly Arg[];
  /** Fields of the KubeletConfiguration document. */
  readonly kubelet: Readonly<Record<string, unknown>>;
}

function readOnlyDir(name: string, dir: string): HostPathMount {
  return { name, hostPath: dir, mountPath: dir, readOnly: true, pathType: 'DirectoryOrCreate' };
}

/** What the hardening adds to the ClusterConfiguration and the KubeletConfiguration. */
export function clusterConfigurationHardening(
  hardening: ControlPlaneHardening,
  kubernetesVersion: string,
): ClusterConfigurationHardening {
  const apiServerArgs: Arg[] = [];
  const apiServerVolumes: HostPathMount[] = [];
  const controllerManagerArgs: Arg[] = [];
  const schedulerArgs: Arg[] = [];
  if (!hardening.profiling) {
    const off = { name: 'profiling', value: 'false' };
    apiServerArgs.push(off);
    controllerManagerArgs.push(off);
    schedulerArgs.push(off);
  }
  apiServerArgs.push({ name: 'tls-min-version', value: hardening.tlsMinVersion });
  if (hardening.anonymousHealthOnly && anonymousConditionsSupported(kubernetesVersion)) {
    apiServerArgs.push({ name: 'authentication-config', value: AUTHENTICATION_CONFIG_PATH });
    apiServerVolumes.push(readOnlyDir('kboot-authentication', AUTHENTICATION_CONFIG_DIR));
  }
  if (hardening.audit !== undefined) {
    apiServerArgs.push(
      { name: 'audit-policy-file', value: AUDIT_POLICY_PATH },
      { name: 'audit-log-path', value: AUDIT_LOG_PATH },
      { name: 'audit-log-maxage', value: String(hardening.audit.maxAgeDays) },
      { name: 'audit-log-maxbackup', value: String(hardening.audit.maxBackups) },
      { name: 'audit-log-maxsize', value: String(hardening.audit.maxSizeMb) },
    );
    apiServerVolumes.push(readOnlyDir('kboot-audit-policy', AUDIT_POLICY_DIR), {
      name: 'kboot-audit-log',
      hostPath: AUDIT_LOG_DIR,
      mountPath: AUDIT_LOG_DIR,
      readOnly: false,
      pathType: 'DirectoryOrCreate',
    });
  }
  if (hardening.encryptionAtRest !== undefined) {
    apiServerArgs.push({ name: 'encryption-provider-config', value: ENCRYPTION_CONFIG_PATH });
    apiServerVolumes.push(readOnlyDir('kboot-encryption', ENCRYPTION_CONFIG_DIR));
    if (hardening.encryptionAtRest.provider === 'kms') {
      const socket = hardening.encryptionAtRest.endpoint.replace(/^unix:\/\//, '');
      const dir = socket.slice(0, socket.lastIndexOf('/')) || '/';
      apiServerVolumes.push({
        name: 'kboot-kms-plugin',
        hostPath: dir,
        mountPath: dir,
        readOnly: false,
        pathType: 'Directory',
      });
    }
  }
  const kubelet: Record<string, unknown> = { tlsMinVersion: hardening.tlsMinVersion };
  if (hardening.kubeletServingCertificates) kubelet.serverTLSBootstrap = true;
  return { apiServerArgs, apiServerVolumes, controllerManagerArgs, schedulerArgs, kubelet };
}

/**
 * The audit policy: nothing for the noisy read-only health and discovery traffic, Secrets,
 * ConfigMaps, tokens and TokenReviews at Metadata only (their bodies hold credentials), every
 * other request at Metadata. No rule logs request or response bodies.
 */
export function renderAuditPolicy(): string {
  const policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      {
        level: 'None',
        nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version', '/metrics'],
      },
      {
        level: 'None',
        users: ['system:kube-proxy'],
        verbs: ['watch'],
        resources: [{ group: '', resources: ['endpoints', 'services', 'services/status'] }],
      },
      {
        level: 'None',
        userGroups: ['system:nodes'],
        verbs: ['get'],
        resources: [{ group: '', resources: ['nodes', 'nodes/status'] }],
      },
      {
        level: 'None',
        verbs: ['get', 'update'],
        namespaces: ['kube-system'],
        resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
      },
      {
        level: 'None',
        resources: [
          { group: '', resources: ['events'] },
          { group: 'events.k8s.io', resources: ['events'] },
        ],
      },
      {
        level: 'Metadata',
        resources: [
          { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
          { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
          { group: 'certificates.k8s.io', resources: ['certificatesigningrequests'] },
        ],
      },
      { level: 'Metadata' },
    ],
  };
  return `# Rendered by kboot: the API server's audit policy (--audit-policy-file).\n${stringify(policy, { lineWidth: 0 })}`;
}

/** The AuthenticationConfiguration: anonymous requests only to the health endpoints. */
export function renderAuthenticationConfig(kubernetesVersion: string): string {
  const version = parseKubernetesVersion(kubernetesVersion, 'kubernetesVersion');
  const v1 = version.major > 1 || version.minor >= AUTHENTICATION_CONFIG_V1_SINCE_MINOR;
  const config = {
    apiVersion: v1 ? 'apiserver.config.k8s.io/v1' : 'apiserver.config.k8s.io/v1beta1',
    kind: 'AuthenticationConfiguration',
    anonymous: { enabled: true, conditions: ANONYMOUS_HEALTH_PATHS.map((path) => ({ path })) },
  };
  return `# Rendered by kboot: anonymous requests reach the health endpoints only (--authentication-config).\n${stringify(config, { lineWidth: 0 })}`;
}

/** A secretbox key: 32 random bytes, base64, as the EncryptionConfiguration takes it. */
export function generateEncryptionKey(): Secret {
  return new Secret(randomBytes(32).toString('base64'));
}

export const ENCRYPTION_KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

export function isEncryptionKey(value: string): boolean {
  return ENCRYPTION_KEY_PATTERN.test(value) && Buffer.from(value, 'base64').length === 32;
}

/** The name of the secretbox key in the EncryptionConfiguration (rotation would add key2). */
export const ENCRYPTION_KEY_NAME = 'key1';

/**
 * The EncryptionConfiguration for Secrets: the chosen provider first (it encrypts every write),
 * then identity, so Secrets written before encryption was turned on can still be read.
 * `key` is required for secretbox; `redacted` prints "[REDACTED]" in its place.
 */
export function renderEncryptionConfig(
  encryption: EncryptionAtRest,
  key: Secret | undefined,
  mode: 'reveal' | 'redacted' = 'reveal',
): string {
  let provider: Record<string, unknown>;
  if (encryption.provider === 'secretbox' && mode === 'redacted') {
    provider = { secretbox: { keys: [{ name: ENCRYPTION_KEY_NAME, secret: REDACTED }] } };
  } else if (encryption.provider === 'secretbox') {
    if (key === undefined) {
      throw new ConfigError('encryption at rest (secretbox) has no key', {
        hint: 'the key is made at init and kept in the control-plane secret; republish it from a master that has it',
      });
    }
    if (!isEncryptionKey(key.reveal())) {
      throw new ConfigError('the encryption at rest key is not 32 bytes of base64', {
        hint: 'the key is made at init and kept in the control-plane secret; check who else writes that secret',
      });
    }
    provider = { secretbox: { keys: [{ name: ENCRYPTION_KEY_NAME, secret: key.reveal() }] } };
  } else {
    provider = {
      kms: { apiVersion: 'v2', name: encryption.name, endpoint: encryption.endpoint, timeout: '3s' },
    };
  }
  const config = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [{ resources: ['secrets'], providers: [provider, { identity: {} }] }],
  };
  return `# Rendered by kboot: encryption at rest of Secrets (--encryption-provider-config). Mode 0600.\n${stringify(config, { lineWidth: 0 })}`;
}

/** One file the API server reads, for the flows to write (0600) before kubeadm runs. */
export interface HardeningFile {
  readonly path: string;
  readonly content: Secret | string;
}

/**
 * The files a control-plane node needs before kubeadm init or join --control-plane. `key` is the
 * secretbox key (needed when encryption at rest uses secretbox; `redacted` hides it for a plan).
 */
export function hardeningFiles(
  hardening: ControlPlaneHardening,
  kubernetesVersion: string,
  key?: Secret,
  mode: 'reveal' | 'redacted' = 'reveal',
): HardeningFile[] {
  const files: HardeningFile[] = [];
  if (hardening.anonymousHealthOnly && anonymousConditionsSupported(kubernetesVersion)) {
    files.push({ path: AUTHENTICATION_CONFIG_PATH, content: renderAuthenticationConfig(kubernetesVersion) });
  }
  if (hardening.audit !== undefined) files.push({ path: AUDIT_POLICY_PATH, content: renderAuditPolicy() });
  if (hardening.encryptionAtRest !== undefined) {
    const encryption = hardening.encryptionAtRest;
    files.push({
      path: ENCRYPTION_CONFIG_PATH,
      content:
        encryption.provider === 'secretbox'
          ? new Secret(renderEncryptionConfig(encryption, key, mode))
          : renderEncryptionConfig(encryption, undefined),
    });
  }
  return files;
}

/** The secretbox key in an EncryptionConfiguration kboot wrote (a master's own copy), if any. */
export function encryptionKeyFromConfig(text: string): Secret | undefined {
  const match = /\n\s*secret: ([A-Za-z0-9+/]{43}=)\n/.exec(text);
  return match?.[1] === undefined ? undefined : new Secret(match[1]);
}
