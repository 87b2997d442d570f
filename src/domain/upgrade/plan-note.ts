/**
 * What `kboot cluster plan` says of an upgrade (pure): the recorded cluster's version against the
 * spec's, the kind of change, whatever the planner would refuse of the versions alone, and a
 * recorded roll. The roll's steps need the instances: `kboot cluster upgrade --dry-run` shows them.
 */

import type { ClusterRecord } from '../state/cluster-record.js';
import { planUpgrade } from './plan.js';
import { upgradeStatusLine } from './status-line.js';

export interface UpgradeNote {
  recorded: string;
  spec: string;
  /** minor, patch, or image (the same version: only a new AMI can change). */
  kind: 'minor' | 'patch' | 'image' | 'refused';
  refusals: string[];
  /** The recorded roll, in `kboot status`'s words; null when none. */
  inProgress: string | null;
}

export function upgradeNote(record: ClusterRecord, specVersion: string, nowMs: number): UpgradeNote {
  // One x86_64 control-plane instance already on a placeholder image: only the version rules speak.
  const placeholder = 'ami-00000000';
  const result = planUpgrade({
    record,
    target: { kubernetesVersion: specVersion, images: { x86_64: placeholder } },
    instances: [
      {
        instanceId: 'i-00000000',
        role: 'control-plane',
        arch: 'x86_64',
        imageId: placeholder,
        launchedAt: '1970-01-01T00:00:00.000Z',
      },
    ],
    nowMs,
  });
  return {
    recorded: record.kubernetesVersion.replace(/^v/, ''),
    spec: specVersion.replace(/^v/, ''),
    kind: result.ok ? result.kind : 'refused',
    refusals: result.ok ? [] : result.refusals.map((r) => r.message),
    inProgress: record.upgrade === undefined ? null : upgradeStatusLine(record.upgrade),
  };
}

export function renderUpgradeNote(note: UpgradeNote, cluster: string): string {
  const lines: string[] = [];
  const roll = `'kboot cluster upgrade --name ${cluster} -f SPEC --dry-run' shows the roll`;
  if (note.kind === 'refused')
    lines.push(`upgrade: ${note.recorded} → ${note.spec} would be refused: ${note.refusals.join('; ')}`);
  else if (note.kind === 'image')
    lines.push(
      `upgrade: the cluster runs ${note.recorded}, as the spec says; a launch template drifting to a new AMI is rolled out by 'kboot cluster upgrade' (--dry-run shows the roll)`,
    );
  else lines.push(`upgrade: ${note.recorded} → ${note.spec} (a ${note.kind} upgrade): ${roll}`);
  if (note.inProgress !== null) lines.push(`upgrade recorded: ${note.inProgress}`);
  return `${lines.join('\n')}\n`;
}
