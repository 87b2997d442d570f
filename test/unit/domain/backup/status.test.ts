import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotRecord } from '../../../../src/domain/backup/snapshot-record.js';
import { snapshotStatusLine, snapshotStatusView } from '../../../../src/domain/backup/status.js';

const NOW = Date.UTC(2026, 5, 15, 12);
const MINUTE = 60_000;

function taken(ageMs: number, revision: number): SnapshotRecord {
  const takenAt = new Date(NOW - ageMs).toISOString();
  return {
    schemaVersion: 1,
    bucket: 'prod-backups',
    key: `prod/etcd/${takenAt}-rev${revision}.db`,
    sha256: 'c'.repeat(64),
    sizeBytes: 18 * 1024 * 1024,
    revision,
    takenAt,
    takenBy: 'i-1',
    intervalMs: 15 * MINUTE,
    fence: 2,
  };
}

describe('the etcd snapshot line of kboot status', () => {
  it('shows the newest snapshot: age, size, revision and how many are kept', () => {
    const view = snapshotStatusView(
      [taken(40 * MINUTE, 10), taken(10 * MINUTE, 12), taken(25 * MINUTE, 11)],
      NOW,
    );
    assert.equal(view.state, 'fresh');
    assert.equal(
      snapshotStatusLine(view),
      'latest 10m ago (2026-06-15T11:50:00.000Z), 18.0 MiB, revision 12; 3 kept in s3://prod-backups',
    );
  });

  it('is fresh up to 3 intervals, stale past them', () => {
    assert.equal(snapshotStatusView([taken(45 * MINUTE, 1)], NOW).state, 'fresh');
    const stale = snapshotStatusView([taken(46 * MINUTE, 1)], NOW);
    assert.equal(stale.state, 'stale');
    assert.match(
      snapshotStatusLine(stale),
      /^STALE: latest 46m ago .* \(older than 45m, 3 timer intervals\)$/,
    );
  });

  it('says when there is none, or when the records cannot be read', () => {
    assert.equal(snapshotStatusLine(snapshotStatusView([], NOW)), 'none recorded');
    assert.equal(
      snapshotStatusLine(snapshotStatusView(new Error('snapshot record x is malformed: field sha256'), NOW)),
      'unreadable: snapshot record x is malformed: field sha256',
    );
  });
});
