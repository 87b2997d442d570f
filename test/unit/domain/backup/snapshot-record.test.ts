import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import { parseSnapshotRecord, snapshotKey } from '../../../../src/domain/backup/snapshot-record.js';

const GOOD = {
  schemaVersion: 1,
  bucket: 'prod-backups',
  key: 'prod/etcd/2026-06-15T12:00:00.000Z-rev42.db',
  sha256: 'ab'.repeat(32),
  sizeBytes: 20512,
  revision: 42,
  takenAt: '2026-06-15T12:00:00.000Z',
  takenBy: 'i-0123456789abcdef0',
  intervalMs: 900_000,
  fence: 3,
};

describe('snapshot records', () => {
  it('names the key after the time and the revision', () => {
    assert.equal(snapshotKey('prod', Date.UTC(2026, 5, 15, 12), 42), GOOD.key);
  });

  it('accepts a well-formed record', () => {
    assert.deepEqual(parseSnapshotRecord(GOOD, 'snapshot record'), GOOD);
  });

  const BAD: [string, Record<string, unknown>, RegExp][] = [
    ['a short hash', { sha256: 'ab' }, /field sha256: 64 lowercase hex digits/],
    ['an upper-case hash', { sha256: 'AB'.repeat(32) }, /field sha256/],
    ['a size of 0', { sizeBytes: 0 }, /field sizeBytes/],
    ['a revision as a string', { revision: '42' }, /field revision/],
    ['a key outside <cluster>/etcd/', { key: 'prod/other/x.db' }, /field key/],
    ['a newer schema', { schemaVersion: 2 }, /field schemaVersion/],
    ['no fence', { fence: undefined }, /field fence/],
    ['a time that is not ISO', { takenAt: 'yesterday' }, /field takenAt/],
    ['an unknown field', { extra: true }, /unknown field\(s\) extra/],
  ];
  for (const [what, change, message] of BAD) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(
        () => parseSnapshotRecord({ ...GOOD, ...change }, 'snapshot record prod/etcd/x'),
        (error: unknown) =>
          error instanceof StateConflictError &&
          message.test(error.message) &&
          error.message.startsWith('snapshot record prod/etcd/x is malformed'),
      );
    });
  }
});
