/** What `kboot cluster plan` says of the upgrade a spec asks of a recorded cluster. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderUpgradeNote, upgradeNote } from '../../../../src/domain/upgrade/plan-note.js';
import { sampleRecord } from '../state/records.js';
import { sampleUpgrade } from './samples.js';

const NOW = Date.parse('2026-12-01T00:00:00.000Z');

describe('the upgrade note of kboot cluster plan', () => {
  it('names a minor upgrade and where to see its roll', () => {
    const note = upgradeNote(sampleRecord(), '1.32.0', NOW);
    assert.equal(note.kind, 'minor');
    assert.equal(
      renderUpgradeNote(note, 'prod'),
      "upgrade: 1.31.2 → 1.32.0 (a minor upgrade): 'kboot cluster upgrade --name prod -f SPEC --dry-run' shows the roll\n",
    );
  });

  it('says what the upgrade would refuse', () => {
    const note = upgradeNote(sampleRecord(), '1.33.0', NOW);
    assert.equal(note.kind, 'refused');
    assert.match(
      renderUpgradeNote(note, 'prod'),
      /^upgrade: 1\.31\.2 → 1\.33\.0 would be refused: .*more than one minor/,
    );
    assert.equal(upgradeNote(sampleRecord(), '1.30.1', NOW).kind, 'refused');
  });

  it('at the same version points at the AMI roll, and shows a recorded roll', () => {
    const note = upgradeNote(sampleRecord({ upgrade: sampleUpgrade({ total: 6 }) }), '1.32.9', NOW);
    assert.equal(note.kind, 'minor');
    assert.match(
      renderUpgradeNote(note, 'prod'),
      /\nupgrade recorded: 1\.31\.2 → 1\.32\.9; phase control-plane; 0\/6/,
    );
    assert.equal(upgradeNote(sampleRecord(), '1.31.2', NOW).kind, 'image');
  });
});
