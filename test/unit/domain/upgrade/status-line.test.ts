/** `kboot status`'s upgrade line: versions, phase, done/total, and why a stopped roll stopped. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upgradeStatusLine } from '../../../../src/domain/upgrade/status-line.js';
import { sampleUpgrade } from './samples.js';

describe('the upgrade status line', () => {
  it('says the phase and how many of how many instances are done', () => {
    const upgrade = sampleUpgrade({
      total: 6,
      done: [{ instanceId: 'i-0aaaaaaaa', role: 'control-plane', at: '2026-12-07T20:10:00.000Z' }],
    });
    assert.equal(
      upgradeStatusLine(upgrade),
      '1.31.2 → 1.32.9; phase control-plane; 1/6 instance(s) replaced; started 2026-12-07T20:00:00.000Z by operator@laptop',
    );
  });

  it('says where and why a stopped roll stopped, and how to resume', () => {
    const line = upgradeStatusLine(
      sampleUpgrade({
        stopped: {
          at: '2026-12-07T20:20:00.000Z',
          step: 'replace-control-plane-i-0aaaaaaaa',
          reason: 'etcd alarm NOSPACE',
        },
      }),
    );
    assert.match(
      line,
      /0 instance\(s\) replaced; .*STOPPED 2026-12-07T20:20:00.000Z at step replace-control-plane-i-0aaaaaaaa: etcd alarm NOSPACE \(run 'kboot cluster upgrade' again to resume\)$/,
    );
  });
});
