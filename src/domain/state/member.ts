/**
 * A member record: which instance joined a cluster, in which role, when, and (for control-plane
 * joins, which are serialized by a lease) under which fence. Informational: status lists them.
 */

import { z } from 'zod';
import { ROLES } from '../identity/tags.js';

const memberShape = z.object({
  instanceId: z.string().min(1),
  role: z.enum(ROLES),
  joinedAt: z.iso.datetime(),
  fence: z.int().positive().optional(),
  /** The node (and etcd member) name: the instance's private DNS name. Absent in older records. */
  nodeName: z.string().min(1).optional(),
  /** Its private IP: where its etcd served (the recovery of a lost control plane probes it). Absent in older records. */
  privateIp: z.string().min(1).optional(),
  /**
   * How its boot went (src/domain/steps/timeline.ts), for `kboot status`: each moment in ms from
   * the instance's launch (from kboot's start when unknown). Absent in older records.
   */
  bootTimeline: z
    .object({
      launchToStartMs: z.number().nullable(),
      milestones: z.record(z.string(), z.number()),
    })
    .optional(),
  /**
   * The first of its kubeadm certificates to expire, and when it checked: the member reports
   * them itself at each `kboot rotate` (src/domain/flows/rotate/certificates.ts). Absent until then.
   */
  certificatesExpireAt: z.iso.datetime().optional(),
  certificatesCheckedAt: z.iso.datetime().optional(),
  /**
   * The Kubernetes version this member was set up with: its kubeadm's (and kubelet's, baked
   * together on a kboot AMI), recorded when it joins or initializes. A joining worker reads these
   * while an upgrade is recorded (../upgrade/join-rule.ts). Absent in older records.
   */
  kubernetesVersion: z
    .string()
    .regex(/^v?\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$/, 'expected a version such as v1.31.2')
    .optional(),
});

export type MemberRecord = z.infer<typeof memberShape>;

/** A member item that does not parse is skipped by readers (it is informational only). */
export function parseMemberRecord(raw: unknown): MemberRecord | undefined {
  const parsed = memberShape.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
