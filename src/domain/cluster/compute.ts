/**
 * The `properties` of the network and compute resources of a cluster (what the graph puts in a
 * `DesiredResource` for the kinds `nlb`, `nlb-target-group`, `nlb-listener`, `launch-template`,
 * `asg`, `irsa-bucket`, `oidc-provider`), and the deterministic AWS names they get, so a
 * `create` killed after the AWS call finds what it made by name. Pure.
 */

import { createHash } from 'node:crypto';
import type { HardeningConfigInput } from '../config/node-config.js';
import type { Role } from '../identity/tags.js';

/** The API server port the load balancer listens on and forwards to. */
export const API_PORT = 6443;

export interface NlbProperties {
  /** ≤ 32 characters: letters, digits, hyphens (see `elbName`). */
  name: string;
  scheme: 'internal' | 'internet-facing';
  subnetIds: string[];
}

export interface NlbTargetGroupProperties {
  name: string;
  /** The VPC of the subnets; when absent, the VPC of `subnetIds[0]`. */
  vpcId?: string | undefined;
  subnetIds: string[];
  /** `tcp`: a TCP connect; `https`: GET /readyz over TLS (an API server that is ready). */
  healthCheck: 'tcp' | 'https';
}

export interface NlbListenerProperties {
  /** Keys of the `nlb` and `nlb-target-group` resources. */
  loadBalancer: string;
  targetGroup: string;
}

/** Where the launch template's AMI comes from: an id, or a query like the spec's (and `kboot ami`'s). */
export type AmiSource =
  | string
  | {
      tags: Record<string, string>;
      owners: string[];
      arch?: 'x86_64' | 'arm64' | undefined;
    };

export interface LaunchTemplateProperties {
  /** The launch template's name (unique in the region). */
  name: string;
  role: Role;
  /** The group this template launches ("control-plane", "workers", "workers-eu-west-1a"). */
  group: string;
  /** An AMI id, or a query resolved at create time to the newest image tagged with `kubernetesVersion`. */
  ami: AmiSource;
  kubernetesVersion: string;
  instanceType: string;
  /** Key of the `iam-instance-profile` resource whose instance profile instances get. */
  instanceProfile: string;
  /** Existing security groups (the spec's `network.securityGroupIds`). */
  securityGroupIds?: string[] | undefined;
  /** Keys of `security-group` resources whose `groupId` output instances also get. */
  securityGroupsFrom?: string[] | undefined;
  keyName?: string | undefined;
  /** IMDS hop limit: 1 (default) keeps pods away from the instance role. */
  metadataHopLimit?: number | undefined;
  /** The node config user-data writes to /etc/kboot/config.yaml. */
  nodeConfig: UserDataNodeConfig;
  /**
   * Key of the `nlb` whose DNS name (port 6443) becomes the node config's `apiEndpoint`, so a
   * master can initialize even before the cluster record names the endpoint.
   */
  apiEndpointFrom?: string | undefined;
}

/** The node config kboot's user-data writes (the fields `kboot cluster create` knows). */
export interface UserDataNodeConfig {
  table: string;
  apiEndpoint?: string | undefined;
  podCidr?: string | undefined;
  serviceCidr?: string | undefined;
  kubernetesVersion?: string | undefined;
  certSANs?: string[] | undefined;
  timeouts?: { waitForInit?: string; lease?: string; kubeadm?: string } | undefined;
  irsa?: { bucket: string; region?: string | undefined } | undefined;
  /** The spec's `backup.bucket`: where `kboot etcd snapshot` puts the snapshots. */
  backup?: { bucket: string } | undefined;
  /** The spec's `hardening`, as the node config takes it (every master the same). */
  hardening?: HardeningConfigInput | undefined;
  /** What the first master reads from its node config when it applies the addons (spec `addons`). */
  addons?:
    | {
        manifestsDir?: string | undefined;
        images?:
          | {
              cilium?: string | undefined;
              ciliumOperator?: string | undefined;
              cloudController?: string | undefined;
            }
          | undefined;
      }
    | undefined;
}

export interface AsgProperties {
  name: string;
  role: Role;
  /** Key of the `launch-template` resource. */
  launchTemplate: string;
  subnetIds: string[];
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  /** Key of the `nlb-target-group` the group registers its instances in (the control plane). */
  targetGroup?: string | undefined;
  /** Seconds before health checks count: long enough for `kubeadm init` on the first master. */
  healthCheckGracePeriodSeconds?: number | undefined;
  /** The state table, tagged on instances as `kboot.io:table` when it is not `kboot`. */
  table: string;
}

export interface IrsaBucketProperties {
  bucket: string;
  /** The bucket's region (the cluster's unless the spec says otherwise). */
  region: string;
}

/** `backup-bucket`: the etcd snapshots' bucket (spec `backup`); outputs bucket, region. */
export interface BackupBucketProperties {
  bucket: string;
  region: string;
  /** The snapshots' prefix, `<cluster>/etcd/`: the lifecycle rule's, and all destroy empties of an adopted bucket. */
  prefix: string;
  /** false: an existing bucket, checked to exist, recorded as adopted (never changed or deleted). */
  create: boolean;
  /** Days after which a noncurrent snapshot version expires. */
  noncurrentDays: number;
  /** The bucket's default encryption is SSE-KMS with the `arn` output of this resource. */
  kmsKeyFrom: string;
}

export interface OidcProviderProperties {
  /** The issuer URL, `https://<bucket>.s3.<region>.amazonaws.com` (domain/irsa/issuer.ts). */
  issuer: string;
}

/**
 * A name AWS accepts for an ELBv2 load balancer or target group: ≤ 32 characters, letters, digits
 * and hyphens, no leading or trailing hyphen. `kboot-<cluster>-<suffix>` when it fits; otherwise
 * cut, with 6 characters of a hash of the whole, so two long cluster names do not collide.
 */
export function elbName(cluster: string, suffix: string): string {
  return boundedName(`kboot-${cluster}-${suffix}`, 32);
}

/**
 * What every name elbName gives a cluster's resources starts with, for IAM policies: the cleaned
 * `kboot-<cluster>-`, cut where a shortened name keeps its head (before the hash).
 */
export function elbNamePrefix(cluster: string): string {
  const clean = `kboot-${cluster}-`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+/g, '-');
  return clean.slice(0, 32 - 7);
}

/** Launch template and Auto Scaling group names: `kboot-<cluster>-<group>`, ≤ 128 / 255 characters. */
export function groupName(cluster: string, group: string): string {
  return boundedName(`kboot-${cluster}-${group}`, 128);
}

function boundedName(full: string, maxLength: number): string {
  const clean = full.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+/g, '-');
  if (clean.length <= maxLength) return clean.replace(/-$/, '');
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 6);
  return `${clean.slice(0, maxLength - 7).replace(/-+$/, '')}-${hash}`;
}
