/** An upgrade record of the tests: 1.31.2 → 1.32.9 on x86_64, in its control-plane phase. */

import type { UpgradeRecord } from '../../../../src/domain/upgrade/record.js';

export function sampleUpgrade(overrides: Partial<UpgradeRecord> = {}): UpgradeRecord {
  return {
    from: { kubernetesVersion: '1.31.2', images: { x86_64: 'ami-0aaaaaaaaaaaaaaa1' } },
    to: { kubernetesVersion: '1.32.9', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } },
    phase: 'control-plane',
    startedAt: '2026-12-07T20:00:00.000Z',
    startedBy: 'operator@laptop',
    done: [],
    ...overrides,
  };
}
