/**
 * Whether this instance already joined. A reboot must do nothing harmful: once kubeadm init or
 * join succeeded, kboot writes a membership file; with it and kubelet.conf both present, the
 * flows exit 0 without touching the cluster. kubelet.conf without the file is a join that
 * failed part-way (kboot resets before trying again); the file without kubelet.conf means
 * someone ran `kubeadm reset` (kboot joins again).
 */

import { z } from 'zod';
import { IncompatibleError } from '../../core/errors.js';
import type { Role } from '../identity/tags.js';
import type { InstanceFiles } from '../ports/files.js';
import { KUBELET_CONF_PATH, MEMBERSHIP_PATH } from './paths.js';

const membershipShape = z.object({
  cluster: z.string(),
  role: z.enum(['control-plane', 'worker']),
  instanceId: z.string(),
  joinedAt: z.string(),
  how: z.enum(['init', 'join']),
});
export type Membership = z.infer<typeof membershipShape>;

export type MembershipState =
  | { state: 'member'; membership: Membership }
  | { state: 'partial' }
  | { state: 'none' };

export async function readMembership(fs: InstanceFiles, cluster: string): Promise<MembershipState> {
  const [text, kubeletConf] = await Promise.all([fs.readText(MEMBERSHIP_PATH), fs.exists(KUBELET_CONF_PATH)]);
  if (!kubeletConf) return { state: 'none' };
  if (text === undefined) return { state: 'partial' };
  let membership: Membership;
  try {
    membership = membershipShape.parse(JSON.parse(text));
  } catch {
    return { state: 'partial' };
  }
  if (membership.cluster !== cluster) {
    throw new IncompatibleError(
      `this instance already belongs to cluster "${membership.cluster}", but its tags say "${cluster}"`,
      {
        hint: `fix the instance's cluster tag, or run 'kubeadm reset -f' and delete ${MEMBERSHIP_PATH} to move it`,
      },
    );
  }
  return { state: 'member', membership };
}

export async function writeMembership(fs: InstanceFiles, membership: Membership): Promise<void> {
  await fs.writePrivateFile(MEMBERSHIP_PATH, `${JSON.stringify(membership, null, 2)}\n`);
}

export function membershipFor(
  cluster: string,
  role: Role,
  instanceId: string,
  how: Membership['how'],
  nowMs: number,
): Membership {
  return { cluster, role, instanceId, how, joinedAt: new Date(nowMs).toISOString() };
}
