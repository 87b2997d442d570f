import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRetention, DEFAULT_RETENTION } from '../../../../src/domain/backup/retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

/** A snapshot taken `ageMs` before NOW, named by its time. */
function at(ageMs: number) {
  const takenAtMs = NOW - ageMs;
  return { key: new Date(takenAtMs).toISOString(), takenAtMs };
}

function keys(list: { key: string }[]): string[] {
  return list.map((s) => s.key);
}

describe('applyRetention', () => {
  it('keeps nothing and removes nothing when there is no snapshot', () => {
    assert.deepEqual(applyRetention([], NOW, DEFAULT_RETENTION), { keep: [], remove: [] });
  });

  it('keeps every snapshot of the last day', () => {
    const snapshots = Array.from({ length: 96 }, (_, i) => at(i * 15 * 60_000 + 60_000));
    const { keep, remove } = applyRetention(snapshots, NOW, DEFAULT_RETENTION);
    assert.equal(keep.length, 96);
    assert.deepEqual(remove, []);
  });

  it('keeps the newest of each hour between one and seven days old, and removes the rest', () => {
    // 4 per hour, 30 to 32 hours old: hours 30, 31 (and the one at exactly 32 h in hour 32).
    const snapshots = [
      at(30 * HOUR),
      at(30 * HOUR + 15 * 60_000),
      at(30 * HOUR + 30 * 60_000),
      at(30 * HOUR + 45 * 60_000),
      at(31 * HOUR),
    ];
    const { keep, remove } = applyRetention(snapshots, NOW, DEFAULT_RETENTION);
    // NOW is on the hour: 30 h old is the start of its hour, the three after it are the hour before.
    assert.deepEqual(keys(keep), keys([at(30 * HOUR), at(30 * HOUR + 15 * 60_000)]));
    assert.deepEqual(
      keys(remove),
      keys([at(30 * HOUR + 30 * 60_000), at(30 * HOUR + 45 * 60_000), at(31 * HOUR)]),
    );
  });

  it('keeps the newest of each day between seven days and a year old', () => {
    const snapshots = [at(10 * DAY), at(10 * DAY + HOUR), at(10 * DAY + 13 * HOUR), at(11 * DAY)];
    const { keep, remove } = applyRetention(snapshots, NOW, DEFAULT_RETENTION);
    // NOW is 12:00 UTC: 10 d and 10 d + 1 h are on one day (the newest kept), 10 d + 13 h is the day before.
    assert.deepEqual(keys(keep), keys([at(10 * DAY), at(10 * DAY + 13 * HOUR)]));
    assert.deepEqual(keys(remove), keys([at(10 * DAY + HOUR), at(11 * DAY)]));
  });

  it('removes snapshots older than a year, but never the newest one', () => {
    const old = [at(400 * DAY), at(401 * DAY), at(500 * DAY)];
    const { keep, remove } = applyRetention(old, NOW, DEFAULT_RETENTION);
    assert.deepEqual(keys(keep), keys([at(400 * DAY)]));
    assert.deepEqual(keys(remove), keys([at(401 * DAY), at(500 * DAY)]));
  });

  it('follows a configured policy (0 hours of all, 0 days hourly, 2 days daily)', () => {
    const policy = { allForHours: 0, hourlyForDays: 0, dailyForDays: 2 };
    const snapshots = [at(60_000), at(2 * HOUR), at(13 * HOUR), at(30 * HOUR), at(3 * DAY)];
    const { keep, remove } = applyRetention(snapshots, NOW, policy);
    // Today (12:00 back to 00:00): the newest; yesterday: 13 h (23:00) is newer than 30 h (06:00).
    assert.deepEqual(keys(keep), keys([at(60_000), at(13 * HOUR)]));
    assert.deepEqual(keys(remove), keys([at(2 * HOUR), at(30 * HOUR), at(3 * DAY)]));
  });

  it('a week of 15-minute snapshots keeps 96 + one per hour for six more days', () => {
    const snapshots = Array.from({ length: 7 * 96 }, (_, i) => at(i * 15 * 60_000 + 60_000));
    const { keep, remove } = applyRetention(snapshots, NOW, DEFAULT_RETENTION);
    // The last day: 96; then each of the 6 * 24 older hours: its newest.
    assert.equal(keep.length, 96 + 6 * 24);
    assert.equal(keep.length + remove.length, snapshots.length);
    assert.ok(remove.every((s) => NOW - s.takenAtMs >= DAY));
  });
});
