import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsDeniedError,
  AwsUnavailableError,
  ClusterTimeoutError,
  StateConflictError,
} from '../../../../src/core/errors.js';
import type { ClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import type { ClusterRecordReader } from '../../../../src/domain/state/cluster-store.js';
import { waitForInitialized } from '../../../../src/domain/state/wait-initialized.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { captureLogger, INFO } from './capture-logger.js';
import { ManualClock } from './manual-clock.js';
import { sampleRecord } from './records.js';

const INITIALIZED = { by: 'i-first', at: '2025-01-01T00:03:00.000Z', fence: 1 };

/** Answers each read with the next step; the last step repeats. */
function scriptedReader(
  steps: (ClusterRecord | undefined | Error)[],
): ClusterRecordReader & { reads: number } {
  const reader = {
    tableName: 'kboot',
    reads: 0,
    async readRecord(): Promise<ClusterRecord | undefined> {
      const step = steps[Math.min(reader.reads, steps.length - 1)];
      reader.reads++;
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return reader;
}

describe('waitForInitialized', () => {
  it('returns at once, after exactly one read, when the cluster is initialized', async () => {
    const clock = new ManualClock();
    const reader = scriptedReader([sampleRecord({ initialized: INITIALIZED })]);
    const record = await waitForInitialized(reader, 'prod', {
      deadlineMs: clock.nowMs() + 60_000,
      clock,
      logger: silentLogger(),
    });
    assert.equal(record.initialized.by, 'i-first');
    assert.equal(reader.reads, 1);
    assert.equal(clock.sleeping, 0);
  });

  it('keeps polling while the record is absent, then present but not initialized', async () => {
    const clock = new ManualClock();
    const reader = scriptedReader([
      undefined,
      undefined,
      sampleRecord(),
      sampleRecord({ initialized: INITIALIZED }),
    ]);
    const record = await clock.run(
      waitForInitialized(reader, 'prod', {
        deadlineMs: clock.nowMs() + 60_000,
        pollMs: 2000,
        clock,
        logger: silentLogger(),
      }),
    );
    assert.equal(record.initialized.fence, 1);
    assert.equal(reader.reads, 4);
  });

  it('spreads its polls (jitter) around pollMs', async () => {
    const delays: number[] = [];
    for (const random of [() => 0, () => 0.999]) {
      const clock = new ManualClock();
      const startMs = clock.nowMs();
      const reader = scriptedReader([undefined, sampleRecord({ initialized: INITIALIZED })]);
      await clock.run(
        waitForInitialized(reader, 'prod', {
          deadlineMs: startMs + 60_000,
          pollMs: 4000,
          clock,
          logger: silentLogger(),
          random,
        }),
      );
      delays.push(clock.nowMs() - startMs);
    }
    assert.deepEqual(delays, [3000, 4998]);
  });

  it('logs progress at info about every 30 s with the elapsed time', async () => {
    const clock = new ManualClock();
    const captured = captureLogger();
    const reader = scriptedReader([undefined]);
    await assert.rejects(
      clock.run(
        waitForInitialized(reader, 'prod', {
          deadlineMs: clock.nowMs() + 100_000,
          pollMs: 1000,
          clock,
          logger: captured.logger,
          random: () => 0.5,
        }),
      ),
      ClusterTimeoutError,
    );
    const progress = captured.lines.filter((line) => line.level === INFO);
    assert.deepEqual(
      progress.map((line) => line.elapsedMs),
      [0, 30_000, 60_000, 90_000],
    );
    assert.match(progress[1]?.msg ?? '', /^waiting for cluster prod to be initialized \(30s so far\)$/);
    assert.ok(reader.reads > 90, 'polled about once a second');
  });

  it('times out with what it waited for and what to check', async () => {
    const clock = new ManualClock();
    const reader = scriptedReader([
      sampleRecord({
        lastFailure: {
          by: 'i-first',
          at: '2025-01-01T00:02:00.000Z',
          step: 'kubeadm-init',
          message: 'exit 1',
        },
      }),
    ]);
    await assert.rejects(
      clock.run(
        waitForInitialized(reader, 'prod', {
          deadlineMs: clock.nowMs() + 600_000,
          clock,
          logger: silentLogger(),
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ClusterTimeoutError);
        assert.match(
          error.message,
          /^cluster prod was not initialized within 10m \(last failure: kubeadm-init on i-first at 2025-01-01T00:02:00.000Z: exit 1\)$/,
        );
        assert.match(error.hint ?? '', /first master's logs.*kboot status --cluster prod/);
        return true;
      },
    );
  });

  it('says when no record was ever written', async () => {
    const clock = new ManualClock();
    await assert.rejects(
      clock.run(
        waitForInitialized(scriptedReader([undefined]), 'prod', {
          deadlineMs: clock.nowMs() + 10_000,
          clock,
          logger: silentLogger(),
        }),
      ),
      /\(no cluster record in table kboot yet\)/,
    );
  });

  it('rides out AWS being unavailable, but not being denied or a bad record', async () => {
    const clock = new ManualClock();
    const options = { deadlineMs: clock.nowMs() + 60_000, clock, logger: silentLogger() };
    const flaky = scriptedReader([
      new AwsUnavailableError('down'),
      sampleRecord({ initialized: INITIALIZED }),
    ]);
    assert.equal((await clock.run(waitForInitialized(flaky, 'prod', options))).initialized.by, 'i-first');
    await assert.rejects(
      waitForInitialized(scriptedReader([new AwsDeniedError('no')]), 'prod', options),
      AwsDeniedError,
    );
    await assert.rejects(
      waitForInitialized(scriptedReader([new StateConflictError('malformed')]), 'prod', options),
      StateConflictError,
    );
  });

  it('stops when its signal aborts', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const waiting = waitForInitialized(scriptedReader([undefined]), 'prod', {
      deadlineMs: clock.nowMs() + 60_000,
      clock,
      logger: silentLogger(),
      signal: controller.signal,
    });
    waiting.catch(() => {});
    await clock.advanceMs(5000);
    controller.abort(new Error('interrupted'));
    await assert.rejects(waiting, /interrupted/);
  });
});
