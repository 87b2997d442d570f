/**
 * Waiting for the init flag, rule by rule: the last read is at the deadline itself, a read that
 * failed is logged, the progress lines and the timeout say whether a record exists, and the
 * timeout carries its facts.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsUnavailableError, ClusterTimeoutError } from '../../../../src/core/errors.js';
import type { ClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import { waitForInitialized } from '../../../../src/domain/state/wait-initialized.js';
import { captureLogger, INFO, WARN } from './capture-logger.js';
import { ManualClock } from './manual-clock.js';
import { sampleRecord } from './records.js';

function reader(steps: (ClusterRecord | undefined | Error)[]) {
  const r = {
    tableName: 'kboot',
    reads: 0,
    async readRecord(): Promise<ClusterRecord | undefined> {
      const step = steps[Math.min(r.reads, steps.length - 1)];
      r.reads++;
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return r;
}

describe('waitForInitialized rules', () => {
  it('reads one last time at the deadline itself, then gives up there', async () => {
    const clock = new ManualClock();
    const r = reader([undefined]);
    await assert.rejects(
      clock.run(
        waitForInitialized(r, 'prod', {
          deadlineMs: clock.nowMs() + 2500,
          pollMs: 1000,
          clock,
          logger: captureLogger().logger,
          random: () => 0.5,
        }),
      ),
      ClusterTimeoutError,
    );
    assert.equal(clock.monotonicMs(), 2500);
    assert.equal(r.reads, 4, 'reads at 0, 1000, 2000 and 2500 ms');
  });

  it('logs a read that failed, and whether the record exists in its progress lines', async () => {
    const clock = new ManualClock();
    const captured = captureLogger();
    const r = reader([new AwsUnavailableError('blip'), sampleRecord()]);
    await assert.rejects(
      clock.run(
        waitForInitialized(r, 'prod', {
          deadlineMs: clock.nowMs() + 40_000,
          pollMs: 1000,
          clock,
          logger: captured.logger,
          random: () => 0.5,
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ClusterTimeoutError);
        assert.match(error.message, /\(the record exists but is not initialized\)$/);
        assert.deepEqual(error.details, {
          cluster: 'prod',
          table: 'kboot',
          elapsedMs: 40_000,
          recordExists: true,
        });
        return true;
      },
    );
    const warn = captured.lines.find((l) => l.level === WARN);
    assert.equal(warn?.msg, 'could not read the cluster record; retrying');
    assert.equal(warn?.cluster, 'prod');
    assert.match(JSON.stringify(warn?.err), /blip/);
    const progress = captured.lines.filter((l) => l.level === INFO);
    assert.deepEqual(
      progress.map((l) => [l.cluster, l.elapsedMs, l.recordExists]),
      [
        ['prod', 0, false],
        ['prod', 30_000, true],
      ],
    );
  });

  it('says in its details that no record exists, and keeps the last read error as its cause', async () => {
    const clock = new ManualClock();
    const blip = new AwsUnavailableError('blip');
    await assert.rejects(
      clock.run(
        waitForInitialized(reader([blip]), 'prod', {
          deadlineMs: clock.nowMs() + 5000,
          clock,
          logger: captureLogger().logger,
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ClusterTimeoutError);
        assert.equal(error.details.recordExists, false);
        assert.equal(error.cause, blip);
        return true;
      },
    );
  });
});
