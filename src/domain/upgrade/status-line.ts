/** The recorded upgrade in one line for `kboot status`: versions, phase, done/total, why it stopped. */

import type { UpgradeRecord } from './record.js';

export function upgradeStatusLine(upgrade: UpgradeRecord): string {
  const total = upgrade.total === undefined ? '' : `/${upgrade.total}`;
  const parts = [
    `${upgrade.from.kubernetesVersion} → ${upgrade.to.kubernetesVersion}`,
    `phase ${upgrade.phase}`,
    `${upgrade.done.length}${total} instance(s) replaced`,
    `started ${upgrade.startedAt} by ${upgrade.startedBy}`,
  ];
  if (upgrade.stopped !== undefined)
    parts.push(
      `STOPPED ${upgrade.stopped.at} at step ${upgrade.stopped.step}: ${upgrade.stopped.reason} (run 'kboot cluster upgrade' again to resume)`,
    );
  return parts.join('; ');
}
