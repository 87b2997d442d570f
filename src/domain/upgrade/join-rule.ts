/**
 * Who may join while an upgrade is recorded (DESIGN.md "Upgrades"; docs/upgrades.md "Design").
 * Outside an upgrade the boot-time skew check stays as it is (../kubeadm/version.ts: kubeadm's
 * minor equals the cluster's). While one runs from F to T:
 *  - a control-plane instance at T may join: the ClusterConfiguration says T before the first one
 *    joins, so kubeadm deploys T beside a T kubelet;
 *  - a control-plane instance at F may not: kubeadm F cannot deploy a T control plane (it deploys
 *    its own minor or the one before), and it would add an old member the roll must replace again;
 *  - a worker at T waits until every control-plane member runs T: a kubelet must not be newer than
 *    any kube-apiserver (kubernetes.io/releases/version-skew-policy/#kubelet). Once the roll has
 *    left its control-plane phase (addons, workers) every control-plane member runs T: the roll
 *    leaves it only after the last old member left and the health gate passed, so the members
 *    need not be read (a member item a lost instance left behind cannot hold workers back);
 *  - a worker at F may join: a kubelet older than the API server is supported;
 *  - anything else is refused, as outside an upgrade.
 * Pure: the caller supplies the control-plane members' versions (the API servers they run).
 */

import {
  formatKubeVersion,
  type KubeVersion,
  type SkewAction,
  tryParseKubeVersion,
  versionSkewProblem,
} from '../kubeadm/version.js';
import type { ClusterRecord } from '../state/cluster-record.js';

export type JoinDecision =
  | { decision: 'join' }
  | { decision: 'wait'; reason: string }
  | { decision: 'refuse'; reason: string };

export interface JoinRuleInput {
  action: Exclude<SkewAction, 'init'>;
  /** The kubeadm (and kubelet) on this instance. */
  kubeadm: KubeVersion;
  record: ClusterRecord;
  /** The kube-apiserver version of each control-plane member now; needed for a worker at the target. */
  controlPlaneVersions: readonly KubeVersion[];
}

const sameMinor = (a: KubeVersion, b: KubeVersion): boolean => a.major === b.major && a.minor === b.minor;

function parse(version: string): KubeVersion {
  const parsed = tryParseKubeVersion(version);
  if (parsed === undefined) throw new Error(`not a Kubernetes version: ${version}`);
  return parsed;
}

export function joinDecision(input: JoinRuleInput): JoinDecision {
  const { action, kubeadm, record } = input;
  const cluster = parse(record.kubernetesVersion);
  const upgrade = record.upgrade;
  if (upgrade === undefined || upgrade.phase === 'done') {
    const problem = versionSkewProblem({ action, kubeadm, cluster });
    return problem === undefined ? { decision: 'join' } : { decision: 'refuse', reason: problem };
  }
  const from = parse(upgrade.from.kubernetesVersion);
  const to = parse(upgrade.to.kubernetesVersion);
  const roll = `the cluster is being upgraded from ${formatKubeVersion(from)} to ${formatKubeVersion(to)}`;
  const atTarget = sameMinor(kubeadm, to);
  const atSource = sameMinor(kubeadm, from);
  if (atTarget && atSource) return { decision: 'join' }; // a patch or AMI roll: one minor
  if (action === 'join-control-plane') {
    if (atTarget) return { decision: 'join' };
    return {
      decision: 'refuse',
      reason: `${roll}: a control-plane instance must run kubeadm ${to.major}.${to.minor}, this one runs ${formatKubeVersion(kubeadm)}`,
    };
  }
  if (atSource) return { decision: 'join' };
  if (atTarget) {
    if (upgrade.phase !== 'control-plane') return { decision: 'join' };
    const behind = input.controlPlaneVersions.filter((version) => !sameMinor(version, to));
    if (input.controlPlaneVersions.length > 0 && behind.length === 0) return { decision: 'join' };
    return {
      decision: 'wait',
      reason: `${roll}: a worker at ${formatKubeVersion(kubeadm)} waits until every control-plane member runs ${to.major}.${to.minor} (${behind.length} of ${input.controlPlaneVersions.length} still run an older API server)`,
    };
  }
  return {
    decision: 'refuse',
    reason: `${roll}: a worker must run kubeadm ${from.major}.${from.minor} or ${to.major}.${to.minor}, this one runs ${formatKubeVersion(kubeadm)}`,
  };
}
