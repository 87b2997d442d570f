/**
 * The upgrade planner (docs/upgrades.md "Design"): from the cluster record, the target (the
 * spec's Kubernetes version and the AMI per architecture) and the cluster's instances, either the
 * reasons it refuses, or the ordered plan:
 *   cluster-configuration (kubeadm-config's ClusterConfiguration and the kubelet-config, before
 *   the first new control plane joins: kubeadm deploys the ClusterConfiguration's version)
 *   → each control-plane instance in turn, a new one joining before the old one leaves
 *   → addons bound to the version (kube-proxy, CoreDNS, cloud-controller-manager, Cilium), once
 *   every API server runs the target (kube-proxy must not be newer than the API server)
 *   → each worker group in turn, `maxUnavailable` instances at a time → finish (the record's
 *   kubernetesVersion becomes the target).
 * A rerun plans only what is left: an instance already on the target AMI, or recorded as done,
 * is not replaced again. A patch upgrade and an AMI-only roll (same version, new image) plan the
 * same way; an AMI-only roll has no cluster-configuration or addons step. Pure: no I/O.
 */

import { type KubeVersion, tryParseKubeVersion } from '../kubeadm/version.js';
import { endOfLifeWarning, KUBERNETES_MINORS, kubernetesMinor } from '../kubeadm/versions.js';
import type { ClusterRecord } from '../state/cluster-record.js';
import type { Architecture, UpgradeRecord } from './record.js';

export interface UpgradeTarget {
  kubernetesVersion: string;
  /** The AMI per architecture (resolved from the spec's AMI query for the target version). */
  images: Partial<Record<Architecture, string>>;
  /** Per worker group: how many of its instances may be replaced at once (default 1). */
  maxUnavailable?: Readonly<Record<string, number>>;
}

export interface ClusterInstance {
  instanceId: string;
  role: 'control-plane' | 'worker';
  /** The worker group (Auto Scaling group's kboot name); absent for the control plane. */
  group?: string;
  arch: Architecture;
  imageId: string;
  /** ISO time: the oldest instances are replaced first. */
  launchedAt: string;
}

export type RefusalCode =
  | 'not-a-version'
  | 'downgrade'
  | 'skips-a-minor'
  | 'unknown-minor'
  | 'no-image'
  | 'other-upgrade-recorded'
  | 'no-control-plane'
  | 'bad-max-unavailable';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export type UpgradeKind = 'minor' | 'patch' | 'image';

export type PlanStep =
  | { kind: 'cluster-configuration'; to: string }
  | { kind: 'replace-control-plane'; instanceId: string; arch: Architecture; imageId: string }
  | { kind: 'addons'; to: string }
  | {
      kind: 'replace-workers';
      group: string;
      instanceIds: string[];
      imageIds: Partial<Record<Architecture, string>>;
    }
  | { kind: 'finish'; to: string };

export type UpgradePlanResult =
  | { ok: false; refusals: Refusal[] }
  | {
      ok: true;
      kind: UpgradeKind;
      from: string;
      to: string;
      steps: PlanStep[];
      /** Said, not refused: the target is past its end of life, or a patch newer than kboot knows. */
      warnings: string[];
    };

export interface PlanInput {
  record: ClusterRecord;
  target: UpgradeTarget;
  instances: readonly ClusterInstance[];
  nowMs: number;
}

const plain = (version: string): string => version.replace(/^v/, '');

function compare(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || (a.patch ?? 0) - (b.patch ?? 0);
}

function versionRefusals(from: KubeVersion, to: KubeVersion, target: string, current: string): Refusal[] {
  if (compare(to, from) < 0) {
    return [
      {
        code: 'downgrade',
        message: `${plain(target)} is older than the cluster's ${plain(current)}: kubeadm does not downgrade (restore a backup, or build a new cluster)`,
      },
    ];
  }
  if (to.major !== from.major || to.minor - from.minor > 1) {
    return [
      {
        code: 'skips-a-minor',
        message: `${plain(target)} is more than one minor after the cluster's ${plain(current)}: upgrade one minor at a time (next: ${from.major}.${from.minor + 1})`,
      },
    ];
  }
  const minor = `${to.major}.${to.minor}`;
  if (kubernetesMinor(minor) === undefined) {
    return [
      {
        code: 'unknown-minor',
        message: `kboot does not know Kubernetes ${minor} (it knows ${KUBERNETES_MINORS.map((m) => m.minor).join(', ')}): upgrade kboot first`,
      },
    ];
  }
  return [];
}

function imageRefusals(target: UpgradeTarget, instances: readonly ClusterInstance[]): Refusal[] {
  const inUse = [...new Set(instances.map((instance) => instance.arch))].sort();
  return inUse
    .filter((arch) => target.images[arch] === undefined)
    .map((arch) => ({
      code: 'no-image' as const,
      message: `no AMI for ${arch} at Kubernetes ${plain(target.kubernetesVersion)}, and ${instances.filter((i) => i.arch === arch).length} instance(s) run ${arch}: build or publish one ("kboot ami" finds it)`,
    }));
}

function recordedRefusals(recorded: UpgradeRecord | undefined, target: UpgradeTarget): Refusal[] {
  if (recorded === undefined || recorded.phase === 'done') return [];
  if (plain(recorded.to.kubernetesVersion) === plain(target.kubernetesVersion)) return [];
  return [
    {
      code: 'other-upgrade-recorded',
      message: `an upgrade to ${plain(recorded.to.kubernetesVersion)} is recorded (phase ${recorded.phase}, ${recorded.done.length} instance(s) done): finish it with that spec first`,
    },
  ];
}

function maxUnavailableRefusals(target: UpgradeTarget): Refusal[] {
  return Object.entries(target.maxUnavailable ?? {})
    .filter(([, value]) => !Number.isInteger(value) || value < 1)
    .map(([group, value]) => ({
      code: 'bad-max-unavailable' as const,
      message: `worker group ${group}: maxUnavailable ${value} must be a whole number of at least 1`,
    }));
}

/** Whether an instance still needs replacing: not on its target AMI, and not recorded as done. */
function pending(instance: ClusterInstance, target: UpgradeTarget, done: ReadonlySet<string>): boolean {
  return !done.has(instance.instanceId) && target.images[instance.arch] !== instance.imageId;
}

function oldestFirst(a: ClusterInstance, b: ClusterInstance): number {
  return a.launchedAt.localeCompare(b.launchedAt) || a.instanceId.localeCompare(b.instanceId);
}

export function planUpgrade(input: PlanInput): UpgradePlanResult {
  const { record, target, instances } = input;
  const current = record.kubernetesVersion;
  const from = tryParseKubeVersion(current);
  const to = tryParseKubeVersion(target.kubernetesVersion);
  if (to === undefined || to.patch === undefined || from === undefined) {
    return {
      ok: false,
      refusals: [
        {
          code: 'not-a-version',
          message: `"${target.kubernetesVersion.slice(0, 40)}" is not a Kubernetes version like 1.32.0`,
        },
      ],
    };
  }
  const controlPlane = instances.filter((instance) => instance.role === 'control-plane');
  const refusals = [
    ...versionRefusals(from, to, target.kubernetesVersion, current),
    ...imageRefusals(target, instances),
    ...recordedRefusals(record.upgrade, target),
    ...maxUnavailableRefusals(target),
    ...(controlPlane.length === 0
      ? [
          {
            code: 'no-control-plane' as const,
            message: 'the cluster has no control-plane instance to upgrade',
          },
        ]
      : []),
  ];
  if (refusals.length > 0) return { ok: false, refusals };

  const kind: UpgradeKind = compare(to, from) === 0 ? 'image' : to.minor === from.minor ? 'patch' : 'minor';
  const recorded = record.upgrade?.phase === 'done' ? undefined : record.upgrade;
  const done = new Set(recorded?.done.map((entry) => entry.instanceId) ?? []);
  const phase = recorded?.phase ?? 'control-plane';
  const versionChanges = kind !== 'image';
  const toText = plain(target.kubernetesVersion);
  const steps: PlanStep[] = [];

  if (versionChanges && phase === 'control-plane') steps.push({ kind: 'cluster-configuration', to: toText });
  for (const instance of controlPlane.filter((i) => pending(i, target, done)).sort(oldestFirst)) {
    steps.push({
      kind: 'replace-control-plane',
      instanceId: instance.instanceId,
      arch: instance.arch,
      imageId: target.images[instance.arch] as string,
    });
  }
  if (versionChanges && (phase === 'control-plane' || phase === 'addons'))
    steps.push({ kind: 'addons', to: toText });

  const groups = new Map<string, ClusterInstance[]>();
  for (const instance of instances) {
    if (instance.role !== 'worker' || !pending(instance, target, done)) continue;
    const group = instance.group ?? 'workers';
    groups.set(group, [...(groups.get(group) ?? []), instance]);
  }
  for (const group of [...groups.keys()].sort()) {
    const members = (groups.get(group) ?? []).sort(oldestFirst);
    const batch = target.maxUnavailable?.[group] ?? 1;
    for (let start = 0; start < members.length; start += batch) {
      const slice = members.slice(start, start + batch);
      const archs = [...new Set(slice.map((i) => i.arch))];
      steps.push({
        kind: 'replace-workers',
        group,
        instanceIds: slice.map((i) => i.instanceId),
        imageIds: Object.fromEntries(archs.map((arch) => [arch, target.images[arch]])),
      });
    }
  }
  if (steps.length > 0 || recorded !== undefined) steps.push({ kind: 'finish', to: toText });

  const warnings: string[] = [];
  const endOfLife = endOfLifeWarning(toText, input.nowMs);
  if (endOfLife !== undefined) warnings.push(endOfLife.message);
  const known = kubernetesMinor(`${to.major}.${to.minor}`);
  if (known !== undefined) {
    const newest = tryParseKubeVersion(known.newestPatch);
    if (newest !== undefined && compare(to, newest) > 0) {
      warnings.push(
        `${toText} is newer than the newest ${known.minor} patch kboot knows (${known.newestPatch})`,
      );
    }
  }
  return { ok: true, kind, from: plain(current), to: toText, steps, warnings };
}
