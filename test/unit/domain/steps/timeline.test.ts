import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDurationMs } from '../../../../src/core/duration.js';
import { bootTimeline, describeTimeline } from '../../../../src/domain/steps/timeline.js';

const START_MS = Date.UTC(2026, 11, 4, 12);

const timings = [
  { step: 'identity', atMs: 0, durationMs: 120, outcome: 'done' as const },
  { step: 'membership', atMs: 120, durationMs: 5, outcome: 'done' as const },
  { step: 'cluster-state', atMs: 125, durationMs: 40_000, outcome: 'done' as const },
  { step: 'reset-partial-join', atMs: 40_125, durationMs: 0, outcome: 'skipped' as const },
  { step: 'kubeadm-join', atMs: 40_200, durationMs: 30_000, outcome: 'done' as const },
  { step: 'membership-file', atMs: 70_200, durationMs: 3, outcome: 'done' as const },
];

describe('bootTimeline', () => {
  it('counts each moment from the launch when IMDS gave it', () => {
    const timeline = bootTimeline({
      startedAtMs: START_MS,
      timings,
      milestones: [{ milestone: 'initialized-seen', atMs: 39_000 }],
      launchedAtMs: START_MS - 45_000,
      finished: true,
    });
    assert.equal(timeline.launchToStartMs, 45_000);
    assert.equal(timeline.launchedAt, new Date(START_MS - 45_000).toISOString());
    assert.deepEqual(timeline.milestones, {
      identity: 45_120,
      'initialized-seen': 84_000,
      'kubeadm-start': 85_200,
      joined: 115_203,
    });
    assert.equal(timeline.steps.length, timings.length);
    assert.equal(
      describeTimeline(timeline, formatDurationMs),
      'identity 45s, initialized-seen 1m24s, kubeadm-start 1m25s, joined 1m55s (from launch)',
    );
  });

  it("counts from kboot's start without a launch time; a run that did not finish has no joined moment", () => {
    const timeline = bootTimeline({
      startedAtMs: START_MS,
      timings: timings.slice(0, 3),
      milestones: [],
      launchedAtMs: undefined,
      finished: false,
    });
    assert.equal(timeline.launchToStartMs, null);
    assert.deepEqual(timeline.milestones, { identity: 120 });
    assert.match(describeTimeline(timeline, formatDurationMs), /\(from kboot start\)$/);
  });
});
