/**
 * What the kubeadm config renderers take. Secrets (bootstrap tokens, certificate keys) are `Secret`
 * and are revealed only inside the renderer; every duration carries its unit.
 */

import type { Secret } from '../../core/secrets.js';
import type { ControlPlaneHardening } from './hardening.js';
import type { KubeadmApiVersion } from './version.js';

/** A user's kubeadm override document (overrides.ts parses and merges them). */
export interface KubeadmOverride {
  /** Where it came from (file path, or config field), for error messages. */
  readonly source: string;
  /** The document: `kind`, optionally `apiVersion`, and the fields to merge. */
  readonly document: Readonly<Record<string, unknown>>;
}

/**
 * How secrets are written: `reveal` for the file kubeadm reads (0600), `redacted` for printing
 * (`--dry-run`), where every secret becomes "[REDACTED]".
 */
export type RenderMode = 'reveal' | 'redacted';

/** One command-line argument of a component or the kubelet, without leading dashes. */
export interface KubeadmArg {
  readonly name: string;
  readonly value: string;
}

export type BootstrapTokenUsage = 'signing' | 'authentication';

export interface BootstrapTokenInput {
  readonly token: Secret;
  /** Finite and positive: kboot never creates a token that does not expire. */
  readonly ttlMs: number;
  readonly description?: string;
  /** Default: signing and authentication (discovery and TLS bootstrap). */
  readonly usages?: readonly BootstrapTokenUsage[];
  /** Default: system:bootstrappers:kubeadm:default-node-token. */
  readonly groups?: readonly string[];
}

/**
 * kubeadm's own waits. v1beta4 has them all under `timeouts`; v1beta3 only knows two of them, at
 * other places (apiServer.timeoutForControlPlane and discovery.timeout); the others are not
 * written for v1beta3, and kubeadm uses its defaults.
 */
export interface KubeadmTimeouts {
  /** Control plane components healthy (default 4m). v1beta3: apiServer.timeoutForControlPlane. */
  readonly controlPlaneComponentHealthCheckMs?: number;
  /** kubelet healthy (default 4m). v1beta4 only. */
  readonly kubeletHealthCheckMs?: number;
  /** One request to the API server (default 1m). v1beta4 only. */
  readonly kubernetesApiCallMs?: number;
  /** One request to etcd (default 2m). v1beta4 only. */
  readonly etcdApiCallMs?: number;
  /** kubelet TLS bootstrap on join (default 5m). v1beta4 only. */
  readonly tlsBootstrapMs?: number;
  /** Validating the API server's identity on join (default 5m). v1beta3: discovery.timeout. */
  readonly discoveryMs?: number;
}

/** For IAM Roles for Service Accounts: the API server's service account token issuer. */
export interface ServiceAccountIssuerInput {
  /** `--service-account-issuer`, e.g. https://oidc.example.com/cluster. */
  readonly issuer: string;
  /** `--api-audiences`, e.g. sts.amazonaws.com. */
  readonly apiAudiences?: readonly string[];
  /** `--service-account-jwks-uri`. */
  readonly jwksUri?: string;
}

interface NodeInput {
  readonly apiVersion: KubeadmApiVersion;
  /** The Node name: the instance's private DNS name, as the AWS cloud-controller-manager expects. */
  readonly nodeName: string;
  /** The container runtime socket; kubeadm detects it when absent. */
  readonly criSocket?: string;
  /**
   * `external` (default): the kubelet runs with cloud-provider=external, for a cluster whose
   * cloud-controller-manager sets provider IDs and addresses; `none`: no cloud provider (a
   * kubelet with `external` and no cloud-controller-manager keeps its node tainted uninitialized).
   */
  readonly cloudProvider?: 'external' | 'none';
  /** kubelet arguments after `cloud-provider=external` (when set). */
  readonly kubeletExtraArgs?: readonly KubeadmArg[];
  readonly timeouts?: KubeadmTimeouts;
  /** Merged over the rendered documents, by kind (see overrides.ts). */
  readonly overrides?: readonly KubeadmOverride[];
}

/** `kubeadm init --config`: InitConfiguration + ClusterConfiguration (+ KubeletConfiguration). */
export interface InitConfigInput extends NodeInput {
  readonly clusterName: string;
  /** The control plane to deploy, e.g. v1.31.2. */
  readonly kubernetesVersion: string;
  /** host:port every node reaches the API through: the load balancer's DNS name and 6443. */
  readonly controlPlaneEndpoint: string;
  /** This instance's private IPv4 address. */
  readonly advertiseAddress: string;
  /** The local API server's port (default 6443). */
  readonly bindPort?: number;
  readonly podSubnet: string;
  readonly serviceSubnet: string;
  /** Extra names and addresses on the API server certificate (the endpoint's host is added by kubeadm). */
  readonly certSANs?: readonly string[];
  readonly bootstrapTokens?: readonly BootstrapTokenInput[];
  /** Encrypts the certificates `--upload-certs` stores for control-plane joins. */
  readonly certificateKey?: Secret;
  readonly serviceAccount?: ServiceAccountIssuerInput;
  /** Adds a KubeletConfiguration document for every kubelet in the cluster. */
  readonly kubeletConfiguration?: {
    readonly cgroupDriver: 'systemd' | 'cgroupfs';
    /**
     * Graceful node shutdown: how long the kubelet delays a shutdown to stop its pods, and the
     * part of it kept for critical pods (durations such as `60s`).
     */
    readonly shutdownGracePeriod?: string;
    readonly shutdownGracePeriodCriticalPods?: string;
  };
  /** Registry for the control-plane images (default registry.k8s.io). */
  readonly imageRepository?: string;
  /**
   * Component flags, extra volumes and kubelet settings of a hardened control plane (hardening.ts);
   * the files they name are written by the flow. Absent: kubeadm's defaults.
   */
  readonly hardening?: ControlPlaneHardening;
}

export interface DiscoveryInput {
  /** host:port of the API (the load balancer). */
  readonly apiServerEndpoint: string;
  readonly token: Secret;
  /** `sha256:<hex>` pins of the cluster CA; more than one during a CA rotation. */
  readonly caCertHashes: readonly string[];
}

export interface JoinControlPlaneInput {
  /** This instance's private IPv4 address, where its API server will listen. */
  readonly advertiseAddress: string;
  readonly bindPort?: number;
  /** Decrypts the certificates the first control plane uploaded. */
  readonly certificateKey: Secret;
}

/** `kubeadm join --config`: a JoinConfiguration for a worker, or for a control-plane member. */
export interface JoinConfigInput extends NodeInput {
  readonly discovery: DiscoveryInput;
  /** Present for a control-plane join. */
  readonly controlPlane?: JoinControlPlaneInput;
}

/**
 * `kubeadm token create --config` and `kubeadm init phase upload-certs --upload-certs --config`:
 * the secret goes in the file, never in argv. `kubernetesVersion` is written so kubeadm does not
 * try to look up the latest release on the internet (it does when the version is missing).
 */
export interface TokenCreateConfigInput {
  readonly apiVersion: KubeadmApiVersion;
  readonly kubernetesVersion: string;
  readonly bootstrapTokens: readonly BootstrapTokenInput[];
  readonly nodeName?: string;
}

export interface UploadCertsConfigInput {
  readonly apiVersion: KubeadmApiVersion;
  readonly kubernetesVersion: string;
  readonly certificateKey: Secret;
  readonly nodeName?: string;
  /** Needed when the cluster's ClusterConfiguration sets one (it names the shared certs). */
  readonly controlPlaneEndpoint?: string;
  readonly clusterName?: string;
}

/** One YAML document of a kubeadm config file. */
export interface KubeadmDocument {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}
