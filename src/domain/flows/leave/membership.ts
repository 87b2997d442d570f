/**
 * A master leaves the membership: its own etcd member (never when quorum would be lost) and its
 * member record in the state table.
 */

import { planSelfRemoval } from '../../leave/etcd-self-removal.js';
import { bestEffort } from './report.js';
import type { Leaving } from './types.js';

/** kubeadm's static pod manifest of the stacked etcd member; `kubeadm reset` removes it. */
const ETCD_MANIFEST_PATH = '/etc/kubernetes/manifests/etcd.yaml';

export const etcdMember = bestEffort({
  name: 'etcd-member',
  describe: (leaving) =>
    `remove this master's etcd member ${leaving.nodeName} (not if the others could not keep quorum)`,
  skip: (state) => (state.get('leaving').controlPlane ? undefined : 'a worker has no etcd member'),
  noUndo: 'the instance is being terminated: its member is not added back',
  run: (leaving) => removeOwnEtcdMember(leaving),
});

export const memberRecord = bestEffort({
  name: 'member-record',
  describe: (leaving) =>
    `remove member record ${leaving.identity.instance.instanceId} of cluster ${leaving.cluster} from the state table`,
  skip: (state) => (state.get('leaving').controlPlane ? undefined : 'a worker has no member record'),
  noUndo: 'the instance is being terminated',
  run: async (leaving) => {
    const instanceId = leaving.identity.instance.instanceId;
    await (await leaving.deps.members()).removeMember(leaving.cluster, instanceId, leaving.signal);
    return `removed the member record of ${instanceId}`;
  },
});

async function removeOwnEtcdMember(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps, nodeName, identity } = leaving;
  if (!(await deps.fs.exists(ETCD_MANIFEST_PATH))) {
    // A re-run after kubeadm reset: the local etcd and its client certificate are gone.
    return {
      skipped: `no local etcd (${ETCD_MANIFEST_PATH} is gone: kubeadm reset ran); a member left behind is removed by the surviving masters' cleanup`,
    };
  }
  const etcd = await deps.etcd();
  const members = await etcd.list(leaving.signal);
  const self = { nodeName, privateIp: identity.instance.privateIpv4 };
  const alive = new Set<string>();
  for (const member of members) {
    const up =
      etcd.probe === undefined
        ? member.clientUrls.length > 0
        : (await etcd.probe(member, leaving.signal)).alive;
    if (up) alive.add(member.id);
  }
  const plan = planSelfRemoval(members, self, (member) => alive.has(member.id));
  if (plan.action === 'absent') return { skipped: `no etcd member of ${nodeName}: already removed` };
  if (plan.action === 'refuse') {
    deps.logger.warn(
      { member: plan.member.name, memberId: plan.member.id },
      `not removing this master's etcd member: ${plan.reason}; the surviving control plane's cleanup removes it once that is safe`,
    );
    return { skipped: `refused to remove etcd member ${plan.member.name}: ${plan.reason}` };
  }
  // Through the other members when they have client URLs: a member that applies its own removal
  // shuts down, and might do so before its answer reaches kboot.
  const peerUrls = members
    .filter((member) => member.id !== plan.member.id && alive.has(member.id))
    .flatMap((member) => member.clientUrls);
  const via = peerUrls.length > 0 ? await deps.etcd(peerUrls) : etcd;
  await via.remove(plan.member.id, leaving.signal);
  return `removed etcd member ${plan.member.name} (${plan.member.id}); ${plan.votersAfter} voting member(s) remain`;
}
