/**
 * kubeadm and Kubernetes versions: parsing `kubeadm version -o short`, choosing the kubeadm config
 * API the installed kubeadm reads, and the version skew kboot accepts between the kubeadm on this
 * instance and the cluster's Kubernetes version.
 */

import { ConfigError, IncompatibleError, KubeadmError } from '../../core/errors.js';

export const KUBEADM_API_V1BETA3 = 'kubeadm.k8s.io/v1beta3';
export const KUBEADM_API_V1BETA4 = 'kubeadm.k8s.io/v1beta4';
export type KubeadmApiVersion = typeof KUBEADM_API_V1BETA3 | typeof KUBEADM_API_V1BETA4;

export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  /** Absent when only `major.minor` was given (a cluster recorded as "1.31"). */
  readonly patch: number | undefined;
  /** `-rc.1`, `-beta.0`…, without the dash; absent for releases. */
  readonly preRelease: string | undefined;
}

const VERSION_PATTERN = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `v1.31.2`, `1.31.2`, `v1.32.0-rc.1`, `1.31`; undefined for anything else. */
export function tryParseKubeVersion(text: string): KubeVersion | undefined {
  const match = VERSION_PATTERN.exec(text.trim());
  if (match === null) return undefined;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: match[3] === undefined ? undefined : Number(match[3]),
    preRelease: match[4],
  };
}

/** `v1.31.2`, `v1.32.0-rc.1`, or `v1.31` when the patch is unknown. */
export function formatKubeVersion(version: KubeVersion): string {
  const patch = version.patch === undefined ? '' : `.${version.patch}`;
  const pre = version.preRelease === undefined ? '' : `-${version.preRelease}`;
  return `v${version.major}.${version.minor}${patch}${pre}`;
}

/** `1.31`: what the skew rules compare. */
export function minorOf(version: KubeVersion): string {
  return `${version.major}.${version.minor}`;
}

/** The output of `kubeadm version -o short` (`v1.31.2\n`). */
export function parseKubeadmVersionOutput(stdout: string): KubeVersion {
  const text = stdout.trim();
  const version = tryParseKubeVersion(text);
  if (version === undefined || version.patch === undefined) {
    throw new KubeadmError(
      `"kubeadm version -o short" printed "${text.slice(0, 60)}", not a version like v1.31.2`,
      {
        hint: 'check the kubeadm binary on this image (KBOOT_KUBEADM or kubeadm on PATH)',
      },
    );
  }
  return version;
}

/** A Kubernetes version from the node config, a flag or the cluster record. */
export function parseKubernetesVersion(text: string, source: string): KubeVersion {
  const version = tryParseKubeVersion(text);
  if (version === undefined) {
    throw new ConfigError(`${source}: "${text.slice(0, 60)}" is not a Kubernetes version`, {
      hint: 'use a version like v1.31.2 (or 1.31 where only the minor matters)',
    });
  }
  return version;
}

/** kubeadm.k8s.io/v1beta3 shipped with kubeadm 1.22; v1beta4 with 1.31. */
const V1BETA3_SINCE_MINOR = 22;
const V1BETA4_SINCE_MINOR = 31;

/**
 * The config API to write for this kubeadm: v1beta4 from 1.31 (v1beta3 still loads there, but is
 * deprecated), v1beta3 for 1.22 to 1.30 (v1beta4 does not exist there). kubeadm older than 1.22
 * only reads v1beta2, which kboot does not write.
 */
export function kubeadmConfigApiVersion(kubeadm: KubeVersion): KubeadmApiVersion {
  if (kubeadm.major === 1 && kubeadm.minor >= V1BETA4_SINCE_MINOR) return KUBEADM_API_V1BETA4;
  if (kubeadm.major === 1 && kubeadm.minor >= V1BETA3_SINCE_MINOR) return KUBEADM_API_V1BETA3;
  throw new IncompatibleError(
    `kubeadm ${formatKubeVersion(kubeadm)} is not supported: kboot writes kubeadm config ${KUBEADM_API_V1BETA3} ` +
      `(kubeadm 1.${V1BETA3_SINCE_MINOR} to 1.${V1BETA4_SINCE_MINOR - 1}) or ${KUBEADM_API_V1BETA4} ` +
      `(kubeadm 1.${V1BETA4_SINCE_MINOR} and newer)`,
    {
      hint: `use an AMI with kubeadm 1.${V1BETA3_SINCE_MINOR} or newer (see "kboot ami")`,
      details: { kubeadmVersion: formatKubeVersion(kubeadm) },
    },
  );
}

export type SkewAction = 'init' | 'join-control-plane' | 'join-worker';

export interface SkewInput {
  action: SkewAction;
  /** The kubeadm on this instance (`kubeadm version -o short`). */
  kubeadm: KubeVersion;
  /** The cluster's Kubernetes version (for init: the version about to be deployed). */
  cluster: KubeVersion;
  clusterName?: string;
}

/*
 * The skew rule, and where it comes from.
 *
 * kubeadm's version skew policy
 * (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/create-cluster-kubeadm/#version-skew-policy):
 *  - "kubeadm can be used with Kubernetes components that are the same version as kubeadm or one
 *    version older" (the control plane it deploys);
 *  - "kubeadm can be used with a kubelet version that is the same version as kubeadm or three
 *    versions older";
 *  - "If new nodes are joined to the cluster, the kubeadm binary used for kubeadm join must match
 *    the last version of kubeadm used to either create the cluster with kubeadm init or to upgrade
 *    the same node with kubeadm upgrade."
 * The Kubernetes version skew policy (https://kubernetes.io/releases/version-skew-policy/#kubelet):
 *  - "kubelet must not be newer than kube-apiserver" (it may be up to three minors older).
 * And concretely: kubeadm 1.31+ stores the kubeadm-config ConfigMap as v1beta4, which kubeadm 1.30
 * and older cannot decode, so an older kubeadm's join fails outright across that line.
 *
 * On a kboot AMI, kubeadm and kubelet are baked together at the same version. So:
 *  - join (worker or control plane): kubeadm's minor must equal the cluster's minor. A newer kubeadm
 *    would bring a kubelet newer than the API server; an older one breaks kubeadm's join rule.
 *  - init: kubeadm itself would deploy a control plane one minor older than itself, but the kubelet
 *    next to it would then be newer than its own API server, so init needs the same minor too.
 * Patch versions may differ either way. Majors must be equal.
 */

/** Why this kubeadm may not run `action` against that cluster version; undefined when it may. */
export function versionSkewProblem(input: SkewInput): string | undefined {
  const { kubeadm, cluster } = input;
  if (kubeadm.major === cluster.major && kubeadm.minor === cluster.minor) return undefined;
  const relation =
    kubeadm.major > cluster.major || (kubeadm.major === cluster.major && kubeadm.minor > cluster.minor)
      ? 'newer'
      : 'older';
  return `kubeadm ${formatKubeVersion(kubeadm)} is ${relation} than Kubernetes ${formatKubeVersion(cluster)}`;
}

/** Throws an IncompatibleError naming both versions and what to do, unless the skew is allowed. */
export function assertVersionSkew(input: SkewInput): void {
  const problem = versionSkewProblem(input);
  if (problem === undefined) return;
  const cluster = input.clusterName === undefined ? 'the cluster' : `cluster "${input.clusterName}"`;
  const what = {
    init: `this instance cannot initialize ${cluster}: ${problem}; kubeadm must be the same minor version as the Kubernetes it deploys`,
    'join-control-plane': `this instance cannot join ${cluster} as a control-plane member: ${problem}; kubeadm must be the same minor version as the cluster`,
    'join-worker': `this instance cannot join ${cluster} as a worker: ${problem}; kubeadm must be the same minor version as the cluster`,
  }[input.action];
  throw new IncompatibleError(what, {
    hint:
      input.action === 'init'
        ? `set kubernetesVersion to a ${minorOf(input.kubeadm)}.x version, or use an AMI with kubeadm ${minorOf(input.cluster)} (tag kboot.io/kubernetes-version)`
        : `launch this instance from an AMI with kubeadm ${minorOf(input.cluster)} (tag kboot.io/kubernetes-version; "kboot ami" finds it)`,
    details: {
      action: input.action,
      kubeadmVersion: formatKubeVersion(input.kubeadm),
      clusterVersion: formatKubeVersion(input.cluster),
    },
  });
}
