/**
 * The bounded wait of deletes that take a while (an ASG draining, an NLB going away): it looks
 * until done, logs progress, and gives up with a ClusterTimeoutError naming what it waited for.
 */

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { resolveSettings, waitUntil } from '../../../../../src/adapters/aws/cluster/provider-kit.js';
import type { Clock } from '../../../../../src/core/clock.js';
import { ClusterTimeoutError } from '../../../../../src/core/errors.js';

function fakeClock(): Clock & { sleptMs: number } {
  let nowMs = 0;
  const clock = {
    sleptMs: 0,
    nowMs: () => nowMs,
    monotonicMs: () => nowMs,
    sleepMs: async (durationMs: number) => {
      nowMs += durationMs;
      clock.sleptMs += durationMs;
    },
  };
  return clock;
}

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

const noClients = {} as never;

describe('waitUntil', () => {
  it('returns once done, logging progress at most once a minute', async () => {
    const clock = fakeClock();
    const { lines, logger } = capture();
    const settings = resolveSettings({ clients: noClients, logger, clock, pollIntervalMs: 5000 });
    let left = 30;
    await waitUntil(settings, 'group g to have no instances', async () => {
      left -= 1;
      return { done: left === 0, progress: `${left} instance(s) left` };
    });
    assert.equal(left, 0);
    assert.equal(clock.sleptMs, 29 * 5000);
    // 145 s of waiting: at 0 s, 60 s and 120 s.
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /waiting for group g to have no instances: 29 instance\(s\) left/);
  });

  it('gives up after the bound with the last progress in the message', async () => {
    const clock = fakeClock();
    const { logger } = capture();
    const settings = resolveSettings({
      clients: noClients,
      logger,
      clock,
      deleteTimeoutMs: 60_000,
      pollIntervalMs: 5000,
    });
    await assert.rejects(
      waitUntil(settings, 'group g to have no instances', async () => ({
        done: false,
        progress: '2 instance(s) left',
      })),
      (error: unknown) =>
        error instanceof ClusterTimeoutError &&
        /gave up waiting for group g to have no instances after 60 s \(2 instance\(s\) left\)/.test(
          error.message,
        ) &&
        /kboot cluster destroy/.test(error.hint ?? ''),
    );
    assert.equal(clock.sleptMs, 60_000);
  });
});
