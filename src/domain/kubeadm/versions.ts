/**
 * The Kubernetes minors kboot knows, as data: for each, the newest patch release, the kubeadm
 * config API kboot writes, the AWS cloud-controller-manager image, the Cilium release kboot
 * renders, and the upstream end-of-life date. A minor is *supported* until its end of life; kboot
 * still renders the older ones (clusters that run them must keep working until upgraded) but
 * `kboot status` and `kboot cluster plan` warn about them and name the upgrade.
 *
 * Sources (read on 2026-12-07):
 *  - end of life and newest patch: kubernetes.io/releases/<minor> ("End Of Life Date", "Latest
 *    patch release"); 1.31 and 1.32 from the same 14-month policy (1.31: 2025-10-28, 1.32:
 *    2026-02-28, the dates providers such as Scaleway list). For minors past their end of life
 *    the patch is the newest seen, not necessarily their last: it is only shown, never built.
 *  - cloud-controller-manager: github.com/kubernetes/cloud-provider-aws releases and the image
 *    promotions in kubernetes/k8s.io (registry.k8s.io/provider-aws/cloud-controller-manager).
 *    v1.35.1's and v1.36.0's image builds failed and were never promoted (kubernetes/k8s.io#9796,
 *    2026-07-30): 1.35 uses v1.35.0, 1.36 uses v1.36.1. v1.37.0 was released on 2026-08-31
 *    (kubernetes/cloud-provider-aws#1483).
 *  - kubeadm API: kubeadm.k8s.io/v1beta4 from kubeadm 1.31, v1beta3 before (./version.ts).
 *  - Cilium: the one release kboot renders (../addons/cilium.ts, images pinned by digest).
 *  - cri-tools and kubernetes-cni: the Debian versions the minor's pkgs.k8s.io repository
 *    publishes (`core:/stable:/v<minor>/deb`), which the AMI build pins (packer/versions.pkr.hcl is
 *    rendered from this table). Seen in apt transcripts of installs from those repositories:
 *    v1.35 cri-tools 1.35.0-1.1, kubernetes-cni 1.8.0-1.1; v1.36 cri-tools 1.36.0-1.1,
 *    kubernetes-cni 1.9.1-1.1 (also the candidate an `apt-get --simulate` resolved on 2026-09-29);
 *    v1.37 kubernetes-cni 1.9.1-1.1 beside kubelet 1.37.0-1.1. v1.37's cri-tools 1.37.0-1.1 is
 *    inferred, not seen: cri-tools v1.37.0 is released on GitHub, and each minor's repository so
 *    far carries its own cri-tools at <minor>.0-1.1 (a wrong pin stops the build at apt-get, naming
 *    the version). Only the supported minors have them: the AMI is built for those alone.
 */

import { IncompatibleError } from '../../core/errors.js';
import { CILIUM_VERSION } from '../addons/cilium.js';
import { kubeadmConfigApiVersion, parseKubernetesVersion } from './version.js';

export interface KubernetesMinor {
  /** `1.37`. */
  minor: string;
  /** The newest patch release known, `1.37.1`: what the AMI and the examples default to. */
  newestPatch: string;
  /** The kubeadm config API kboot writes for this minor. */
  kubeadmApi: string;
  /** registry.k8s.io/provider-aws/cloud-controller-manager image of the matching release line. */
  cloudControllerImage: string;
  /** The Cilium release kboot deploys (addons.cni: cilium). */
  cilium: string;
  /** Upstream end of life (no more patches), `YYYY-MM-DD`, UTC. */
  endOfLife: string;
  /** The pinned versions of kubeadm's companions in the AMI; only minors the AMI is built for. */
  packages?: KubernetesPackages;
}

/** Debian package versions (`VERSION-REVISION`) in the minor's pkgs.k8s.io repository. */
export interface KubernetesPackages {
  /** crictl (`cri-tools=1.37.0-1.1`). */
  criTools: string;
  /** The CNI plugins in /opt/cni/bin (`kubernetes-cni=1.9.1-1.1`). */
  kubernetesCni: string;
}

const CCM = 'registry.k8s.io/provider-aws/cloud-controller-manager';

/** Oldest first. */
export const KUBERNETES_MINORS: readonly KubernetesMinor[] = [
  minor('1.30', '1.30.14', `${CCM}:v1.30.7`, '2025-07-15'),
  minor('1.31', '1.31.13', `${CCM}:v1.31.5`, '2025-10-28'),
  minor('1.32', '1.32.9', `${CCM}:v1.32.4`, '2026-02-28'),
  minor('1.33', '1.33.10', `${CCM}:v1.33.1`, '2026-06-28'),
  minor('1.34', '1.34.9', `${CCM}:v1.34.0`, '2026-10-27'),
  minor('1.35', '1.35.9', `${CCM}:v1.35.0`, '2027-02-28', {
    criTools: '1.35.0-1.1',
    kubernetesCni: '1.8.0-1.1',
  }),
  minor('1.36', '1.36.4', `${CCM}:v1.36.1`, '2027-06-28', {
    criTools: '1.36.0-1.1',
    kubernetesCni: '1.9.1-1.1',
  }),
  minor('1.37', '1.37.1', `${CCM}:v1.37.0`, '2027-10-28', {
    criTools: '1.37.0-1.1',
    kubernetesCni: '1.9.1-1.1',
  }),
];

function minor(
  name: string,
  newestPatch: string,
  cloudControllerImage: string,
  endOfLife: string,
  packages?: KubernetesPackages,
): KubernetesMinor {
  return {
    minor: name,
    newestPatch,
    kubeadmApi: kubeadmConfigApiVersion(parseKubernetesVersion(newestPatch, 'a known release')),
    cloudControllerImage,
    cilium: CILIUM_VERSION,
    endOfLife,
    ...(packages === undefined ? {} : { packages }),
  };
}

/** The end of a day `YYYY-MM-DD` (UTC): a minor is supported through its end-of-life date. */
function endOfDayMs(date: string): number {
  return Date.parse(`${date}T23:59:59.999Z`);
}

export function kubernetesMinor(minorName: string): KubernetesMinor | undefined {
  return KUBERNETES_MINORS.find((entry) => entry.minor === minorName);
}

/** The minors still supported at `nowMs`, oldest first. */
export function supportedMinors(nowMs: number): KubernetesMinor[] {
  return KUBERNETES_MINORS.filter((entry) => endOfDayMs(entry.endOfLife) >= nowMs);
}

/** The newest minor kboot knows: the default of the AMI, the examples and new clusters. */
export function newestMinor(): KubernetesMinor {
  return KUBERNETES_MINORS[KUBERNETES_MINORS.length - 1] as KubernetesMinor;
}

/** `1.37.1`: the newest release kboot knows. */
export const DEFAULT_KUBERNETES_VERSION = newestMinor().newestPatch;

export interface EndOfLifeWarning {
  minor: string;
  endOfLife: string;
  /** The next minor: kubeadm upgrades one minor at a time. */
  nextMinor: string;
  /** The oldest minor still supported: where the upgrades must reach. */
  supportedMinor: string;
  message: string;
}

/** `1.31.2`, `v1.31`, `1.31` → `1.31`; undefined for anything else. */
function minorOf(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version);
  return match === null ? undefined : `${match[1]}.${match[2]}`;
}

/**
 * A warning when `version`'s minor is past its end of life at `nowMs` (also for a minor older
 * than any kboot knows); undefined while it is supported or when kboot cannot tell.
 */
export function endOfLifeWarning(version: string, nowMs: number): EndOfLifeWarning | undefined {
  const name = minorOf(version);
  if (name === undefined) return undefined;
  const supported = supportedMinors(nowMs);
  const oldestSupported = supported[0] ?? newestMinor();
  const entry = kubernetesMinor(name);
  const [major, minorNumber] = name.split('.').map(Number) as [number, number];
  const oldestKnown = KUBERNETES_MINORS[0] as KubernetesMinor;
  const tooOld = entry === undefined && compareMinor(name, oldestKnown.minor) < 0;
  if (entry === undefined && !tooOld) return undefined;
  if (entry !== undefined && endOfDayMs(entry.endOfLife) >= nowMs) return undefined;
  const nextMinor = `${major}.${minorNumber + 1}`;
  const since = entry === undefined ? 'before any release kboot knows' : `on ${entry.endOfLife}`;
  const path =
    nextMinor === oldestSupported.minor
      ? `upgrade to ${oldestSupported.minor} (${oldestSupported.newestPatch})`
      : `upgrade one minor at a time (next: ${nextMinor}) to at least ${oldestSupported.minor} (${oldestSupported.newestPatch})`;
  return {
    minor: name,
    endOfLife: entry?.endOfLife ?? 'unknown',
    nextMinor,
    supportedMinor: oldestSupported.minor,
    message: `Kubernetes ${name} reached its end of life ${since} and gets no more security fixes: ${path}; the newest kboot supports is ${newestMinor().minor} (${newestMinor().newestPatch})`,
  };
}

function compareMinor(a: string, b: string): number {
  const [aMajor, aMinor] = a.split('.').map(Number) as [number, number];
  const [bMajor, bMinor] = b.split('.').map(Number) as [number, number];
  return aMajor - bMajor || aMinor - bMinor;
}

/** The cloud-controller-manager image for a minor, or a clear error naming the ones known. */
export function cloudControllerImageFor(minorName: string): string {
  const entry = kubernetesMinor(minorName);
  if (entry === undefined) {
    throw new IncompatibleError(
      `kboot has no AWS cloud-controller-manager image for Kubernetes ${minorName} (it knows ${KUBERNETES_MINORS.map((known) => known.minor).join(', ')})`,
      { hint: 'set addons.images.cloudController in the node config to the release for your minor' },
    );
  }
  return entry.cloudControllerImage;
}
