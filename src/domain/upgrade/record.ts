/**
 * The cluster record's `upgrade` field (docs/upgrades.md "Design"): what a roll to a new
 * Kubernetes version or a new AMI has done so far, so a rerun resumes where it stopped and
 * `kboot status` can show it. Pure: the schema, checked strictly (unknown fields, a downgrade, a
 * jump of more than one minor, an instance recorded twice, a worker done before the control
 * plane are errors naming the field), and the check that ties it to the record's own version.
 */

import { z } from 'zod';
import { ROLES } from '../identity/tags.js';
import { tryParseKubeVersion } from '../kubeadm/version.js';

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * control-plane: one instance at a time, a new one joining before an old one leaves; addons: the
 * version-bound addons (kube-proxy, CoreDNS, cloud-controller-manager, Cilium) once every API
 * server runs the target; workers: group by group; done: the record's kubernetesVersion is the
 * target.
 */
export const UPGRADE_PHASES = ['control-plane', 'addons', 'workers', 'done'] as const;
export type UpgradePhase = (typeof UPGRADE_PHASES)[number];

const nonEmpty = z.string().min(1, 'expected a non-empty string');
const isoInstant = z.iso.datetime({
  message: 'expected an ISO 8601 UTC time such as 2025-01-31T12:00:00.000Z',
});
const fullVersion = z.string().regex(/^v?\d+\.\d+\.\d+$/, { message: 'expected a version like 1.31.2' });
const instanceId = z
  .string()
  .regex(/^i-[0-9a-f]{8,17}$/, { message: 'expected an instance id like i-0abc1234' });
const amiId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, { message: 'expected an AMI id like ami-0abc1234' });
const images = z
  .partialRecord(z.enum(ARCHITECTURES), amiId)
  .describe('the AMI per architecture in use (x86_64, arm64)');

const side = z.strictObject({ kubernetesVersion: fullVersion, images });

const doneInstance = z.strictObject({
  /** The instance replaced (it left the cluster). */
  instanceId,
  role: z.enum(ROLES),
  /** The worker group it belonged to; absent for the control plane. */
  group: nonEmpty.optional(),
  /** The instance that took its place, at the target. */
  replacedBy: instanceId.optional(),
  at: isoInstant,
});

const stopped = z.strictObject({ at: isoInstant, step: nonEmpty, reason: z.string() });

function minorNumber(version: string): { major: number; minor: number; patch: number } | undefined {
  const parsed = tryParseKubeVersion(version);
  if (parsed === undefined || parsed.patch === undefined) return undefined;
  return { major: parsed.major, minor: parsed.minor, patch: parsed.patch };
}

export const upgradeShape = z
  .strictObject({
    from: side,
    to: side,
    phase: z.enum(UPGRADE_PHASES),
    startedAt: isoInstant,
    /** Who started it (the operator's identity or host). */
    startedBy: nonEmpty,
    done: z.array(doneInstance),
    /** The instances the roll replaces in all, done ones included, as last planned (for `kboot status`). */
    total: z.int().nonnegative().optional(),
    /** Set when a gate failed or the roll was stopped: nothing further is replaced until a rerun. */
    stopped: stopped.optional(),
  })
  .superRefine((upgrade, ctx) => {
    const from = minorNumber(upgrade.from.kubernetesVersion);
    const to = minorNumber(upgrade.to.kubernetesVersion);
    if (from !== undefined && to !== undefined) {
      const older =
        to.major < from.major ||
        (to.major === from.major &&
          (to.minor < from.minor || (to.minor === from.minor && to.patch < from.patch)));
      if (older) {
        ctx.addIssue({
          code: 'custom',
          path: ['to', 'kubernetesVersion'],
          message: 'is older than from: kubeadm does not downgrade',
        });
      } else if (to.major !== from.major || to.minor - from.minor > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['to', 'kubernetesVersion'],
          message: 'is more than one minor after from',
        });
      }
    }
    if (Object.keys(upgrade.to.images).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['to', 'images'], message: 'names no AMI' });
    }
    const seen = new Set<string>();
    upgrade.done.forEach((entry, index) => {
      if (seen.has(entry.instanceId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['done', index, 'instanceId'],
          message: `${entry.instanceId} is recorded twice`,
        });
      }
      seen.add(entry.instanceId);
      if (entry.role === 'worker' && upgrade.phase === 'control-plane') {
        ctx.addIssue({
          code: 'custom',
          path: ['done', index, 'role'],
          message: 'a worker is done while the control plane is still being replaced',
        });
      }
    });
  });

export type UpgradeRecord = z.infer<typeof upgradeShape>;

/**
 * Why an upgrade does not fit the record's own kubernetesVersion (undefined when it does): while
 * it runs the record keeps the version it started from; once done, the target.
 */
export function upgradeVersionMismatch(recordVersion: string, upgrade: UpgradeRecord): string | undefined {
  const expected = upgrade.phase === 'done' ? upgrade.to.kubernetesVersion : upgrade.from.kubernetesVersion;
  const strip = (version: string) => version.replace(/^v/, '');
  if (strip(recordVersion) === strip(expected)) return undefined;
  return `the upgrade is in phase ${upgrade.phase}, so kubernetesVersion should be ${strip(expected)} (its ${upgrade.phase === 'done' ? 'to' : 'from'} version)`;
}
