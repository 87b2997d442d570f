/**
 * The images `kubeadm upgrade apply` gives the addons bound to the Kubernetes version, and the
 * one kboot adds (the AWS cloud-controller-manager), for a target version and the cluster's
 * ClusterConfiguration (its imageRepository and dns overrides).
 *
 * kubeadm (cmd/kubeadm/app/images/images.go):
 *  - kube-proxy: `<imageRepository>/kube-proxy:<version>` (GetKubernetesImage; a `+` in the version
 *    becomes `_`, as image tags cannot hold it);
 *  - CoreDNS (GetDNSImage): `<dns.imageRepository, else imageRepository>/coredns:<dns.imageTag,
 *    else CoreDNSVersion>`, where the default repository registry.k8s.io becomes
 *    registry.k8s.io/coredns (the image moved to registry.k8s.io/coredns/coredns).
 * CoreDNSVersion is a constant of each kubeadm release (cmd/kubeadm/app/constants/constants.go on
 * the release-1.x branch): the CoreDNS a cluster gets is the one its upgrading kubeadm was built
 * with, the table below. Sources (read on 2026-12-08): 1.30 to 1.33 from the constants of those
 * branches and coredns/deployment's kubernetes/CoreDNS-k8s_version.md; 1.34 (v1.12.1), 1.35
 * (v1.13.1) and 1.36 (v1.14.2) as tools that read those constants record them. A minor missing
 * here (1.37) leaves CoreDNS as it is: its Deployment keeps running the image it has, which the
 * CoreDNS project keeps compatible across Kubernetes minors within the skew window.
 */

import { type KubeVersion, parseKubernetesVersion } from '../kubeadm/version.js';
import { cloudControllerImageFor } from '../kubeadm/versions.js';

/** kubeadm's CoreDNSVersion, by Kubernetes minor. */
export const COREDNS_VERSIONS: Readonly<Record<string, string>> = {
  '1.30': 'v1.11.1',
  '1.31': 'v1.11.3',
  '1.32': 'v1.11.3',
  '1.33': 'v1.12.0',
  '1.34': 'v1.12.1',
  '1.35': 'v1.13.1',
  '1.36': 'v1.14.2',
};

/** kubeadm's default imageRepository. */
export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';

/** What of the ClusterConfiguration decides the addon images. */
export interface ImageSettings {
  imageRepository?: string | undefined;
  dns?: { imageRepository?: string | undefined; imageTag?: string | undefined } | undefined;
}

function minorName(version: KubeVersion): string {
  return `${version.major}.${version.minor}`;
}

function tagOf(text: string): string {
  const trimmed = text.trim();
  return (trimmed.startsWith('v') ? trimmed : `v${trimmed}`).replaceAll('+', '_');
}

/** kubeadm's CoreDNS version for a Kubernetes version, or undefined when kboot does not know it. */
export function coreDnsVersion(kubernetesVersion: string): string | undefined {
  return COREDNS_VERSIONS[minorName(parseKubernetesVersion(kubernetesVersion, 'the target version'))];
}

export function kubeProxyImage(settings: ImageSettings, kubernetesVersion: string): string {
  parseKubernetesVersion(kubernetesVersion, 'the target version');
  const repository = settings.imageRepository?.trim() || DEFAULT_IMAGE_REPOSITORY;
  return `${repository}/kube-proxy:${tagOf(kubernetesVersion)}`;
}

/** The CoreDNS image kubeadm deploys; undefined when the tag is neither set nor known for the minor. */
export function coreDnsImage(settings: ImageSettings, kubernetesVersion: string): string | undefined {
  let repository =
    settings.dns?.imageRepository?.trim() || settings.imageRepository?.trim() || DEFAULT_IMAGE_REPOSITORY;
  if (repository === DEFAULT_IMAGE_REPOSITORY) repository = `${repository}/coredns`;
  const tag = settings.dns?.imageTag?.trim() || coreDnsVersion(kubernetesVersion);
  return tag === undefined ? undefined : `${repository}/coredns:${tag}`;
}

/** The cloud-controller-manager image of the target's minor (kboot's versions table), or the override. */
export function cloudControllerTargetImage(kubernetesVersion: string, override?: string): string {
  if (override !== undefined) return override;
  return cloudControllerImageFor(minorName(parseKubernetesVersion(kubernetesVersion, 'the target version')));
}
