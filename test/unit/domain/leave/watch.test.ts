import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeImds, metadataPaths } from '../../../../src/adapters/imds/fake.js';
import { systemClock } from '../../../../src/core/clock.js';
import { heartbeatIntervalMs, startHeartbeat } from '../../../../src/domain/leave/heartbeat.js';
import { terminationSignal, waitForTermination } from '../../../../src/domain/leave/watch.js';
import { silentLogger } from '../../../support/silent-logger.js';

describe('termination signals from IMDS', () => {
  const table: { paths: Record<string, string>; expect: RegExp | undefined }[] = [
    { paths: {}, expect: undefined },
    { paths: { 'autoscaling/target-lifecycle-state': 'InService' }, expect: undefined },
    { paths: { 'autoscaling/target-lifecycle-state': 'Terminated' }, expect: /Terminated/ },
    { paths: { 'autoscaling/target-lifecycle-state': 'Warmed:Terminated' }, expect: /Warmed:Terminated/ },
    { paths: { 'autoscaling/target-lifecycle-state': 'Warmed:Stopped' }, expect: undefined },
    {
      paths: { 'spot/instance-action': '{"action": "terminate", "time": "2026-11-23T13:00:00Z"}' },
      expect: /spot/,
    },
    {
      paths: { 'spot/instance-action': '{"action": "stop", "time": "2026-11-23T13:00:00Z"}' },
      expect: undefined,
    },
  ];
  for (const { paths, expect } of table) {
    it(`${JSON.stringify(paths)} → ${expect ?? 'stay'}`, async () => {
      const reason = await terminationSignal(fakeImds({ get: metadataPaths(paths) }));
      if (expect === undefined) assert.equal(reason, undefined);
      else assert.match(reason ?? '', expect);
    });
  }

  it('--watch polls until the state becomes Terminated, shrugging off IMDS errors', async () => {
    let reads = 0;
    const imds = fakeImds({
      get: async (path) => {
        if (path !== 'autoscaling/target-lifecycle-state') return undefined;
        reads += 1;
        if (reads === 2) throw new Error('IMDS hiccup');
        return reads >= 4 ? 'Terminated' : 'InService';
      },
    });
    const reason = await waitForTermination({
      imds,
      clock: systemClock,
      logger: silentLogger(),
      pollMs: 5,
      signal: new AbortController().signal,
    });
    assert.match(reason, /Terminated/);
    assert.equal(reads, 4);
  });
});

describe('lifecycle action heartbeats', () => {
  it('beat at a third of the hook timeout', () => {
    assert.equal(heartbeatIntervalMs(300), 100_000);
    assert.equal(heartbeatIntervalMs(1), 1000);
  });

  it('run in the background until stopped; a failed heartbeat is retried at the next tick', async () => {
    let calls = 0;
    const heartbeat = startHeartbeat({
      intervalMs: 10,
      clock: systemClock,
      logger: silentLogger(),
      beat: async () => {
        calls += 1;
        if (calls === 1) throw new Error('throttled');
      },
    });
    // Until the failed beat and two more have run, however slow the machine.
    while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await heartbeat.stop();
    const after = calls;
    assert.ok(heartbeat.sent >= 2 && heartbeat.sent === calls - 1, `sent ${heartbeat.sent} of ${calls}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(calls, after, 'no heartbeat after stop');
  });
});
