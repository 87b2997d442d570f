import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsUnavailableError,
  ClusterTimeoutError,
  InterruptedError,
  StateConflictError,
} from '../../../../src/core/errors.js';
import { acquireLease, type HoldLeaseOptions, holdLease } from '../../../../src/domain/state/hold-lease.js';
import { DEFAULT_LEASE_MS, type LockRecord } from '../../../../src/domain/state/lease.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { captureLogger, INFO } from './capture-logger.js';
import { FakeLeaseLock } from './fake-lease-lock.js';
import { ManualClock } from './manual-clock.js';

const LEASE_MS = 60_000;
const RENEW_MS = 20_000;

function options(clock: ManualClock, extra: Partial<HoldLeaseOptions> = {}): HoldLeaseOptions {
  return {
    owner: 'i-me',
    clock,
    logger: silentLogger(),
    leaseMs: LEASE_MS,
    renewIntervalMs: RENEW_MS,
    random: () => 0.5,
    ...extra,
  };
}

/** Work that runs until its signal aborts, or until the test resolves it. */
function controllableWork() {
  let finish: (value: string) => void = () => {};
  let seen: { signal?: AbortSignal; fence?: number } = {};
  const work = (signal: AbortSignal, fence: number): Promise<string> => {
    seen = { signal, fence };
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
  return { work, finish: (value: string) => finish(value), seen: () => seen };
}

describe('holdLease', () => {
  it('runs the work with its fence, renews while it runs, and releases at the end', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', { fence: 4 });
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    await clock.advanceMs(0);
    assert.equal(work.seen().fence, 5);
    const startMs = clock.nowMs();
    await clock.advanceMs(3 * LEASE_MS); // three lease lengths: only renewals keep it alive
    assert.equal(lock.calls.filter((c) => c === 'renew').length, 9);
    assert.equal(lock.record?.owner, 'i-me');
    assert.ok((lock.record?.expiresAtMs ?? 0) > startMs + 3 * LEASE_MS);
    assert.equal(work.seen().signal?.aborted, false);
    work.finish('done');
    assert.equal(await held, 'done');
    assert.deepEqual(lock.record, { fence: 5, releasedAtMs: clock.nowMs() });
    assert.equal(clock.sleeping, 0, 'the renewal loop stopped');
  });

  it('releases when the work fails, and rethrows the work error', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    await assert.rejects(
      clock.run(
        holdLease(lock, options(clock), async () => Promise.reject(new Error('kubeadm init failed'))),
      ),
      /kubeadm init failed/,
    );
    assert.equal(lock.record?.owner, undefined);
    assert.equal(lock.record?.fence, 1);
  });

  it('defaults to a 10-minute lease renewed every third of it', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, { owner: 'i-me', clock, logger: silentLogger() }, work.work);
    await clock.advanceMs(0);
    assert.equal(lock.record?.expiresAtMs, clock.nowMs() + DEFAULT_LEASE_MS);
    await clock.advanceMs(DEFAULT_LEASE_MS / 3 - 1);
    assert.equal(lock.calls.includes('renew'), false);
    await clock.advanceMs(1);
    assert.equal(lock.calls.includes('renew'), true);
    work.finish('ok');
    await held;
  });

  it('refuses at once, naming the holder, when held by another, with no deadline and no watch', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-other',
      expiresAtMs: clock.nowMs() + 5000,
      fence: 2,
      rvn: 'r-live',
    });
    let ran = false;
    await assert.rejects(
      holdLease(lock, options(clock, { watchHeld: false }), async () => {
        ran = true;
      }),
      (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.match(
          error.message,
          /could not take the bootstrap lease of cluster "prod": held by i-other with fence 2/,
        );
        assert.match(error.hint ?? '', /kboot status --cluster prod/);
        return true;
      },
    );
    assert.equal(ran, false);
    assert.deepEqual(lock.calls, ['tryAcquire']);
  });

  it('without a deadline, gives up as soon as the holder shows it is alive (its rvn changes)', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'rotate', {
      owner: 'i-other',
      fence: 2,
      rvn: 'r-1',
      leaseMs: LEASE_MS,
    });
    const outcome = acquireLease(lock, options(clock, { pollMs: 5000 }));
    await clock.advanceMs(0);
    lock.record = { ...(lock.record as LockRecord), rvn: 'r-2' }; // the holder renewed
    const result = await clock.run(outcome);
    assert.equal(result.acquired, false);
    assert.equal(lock.record?.owner, 'i-other');
    assert.ok(clock.monotonicMs() < LEASE_MS, 'did not wait out a whole lease');
  });

  it('without a deadline, takes over a holder that stays silent for its whole lease', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'rotate', {
      owner: 'i-dead',
      fence: 2,
      rvn: 'r-1',
      leaseMs: 30_000,
    });
    const result = await clock.run(acquireLease(lock, options(clock, { pollMs: 5000 })));
    assert.ok(result.acquired);
    assert.equal(result.lease.fence, 3);
    assert.equal(clock.monotonicMs(), 30_000, "exactly the holder's lease after it was first seen");
  });

  it('waits with a deadline and takes the lease once the holder releases it', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-other',
      expiresAtMs: clock.nowMs() + LEASE_MS,
      fence: 2,
    });
    const captured = captureLogger();
    const held = holdLease(
      lock,
      options(clock, {
        logger: captured.logger,
        acquireDeadlineMs: clock.nowMs() + 10 * 60_000,
        pollMs: 5000,
      }),
      async (_signal, fence) => fence,
    );
    await clock.advanceMs(12_000);
    assert.equal(lock.record?.owner, 'i-other');
    lock.record = { fence: 2, releasedAtMs: clock.nowMs() };
    assert.equal(await clock.run(held), 3);
    const waits = captured.lines.filter(
      (line) => line.level === INFO && line.msg.startsWith('waiting for the bootstrap lease'),
    );
    assert.equal(waits.length, 1, 'one progress line within the first 30 s');
    assert.match(waits[0]?.msg ?? '', /held by i-other/);
  });

  it('takes over a dead holder once its rvn stayed unchanged for a full lease, with a higher fence', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-dead',
      expiresAtMs: clock.nowMs() + 90_000,
      fence: 6,
      rvn: 'r-dead',
      leaseMs: 90_000,
    });
    let tookOverAtMonoMs = 0;
    const fence = await clock.run(
      holdLease(
        lock,
        options(clock, { acquireDeadlineMs: clock.nowMs() + 10 * 60_000, pollMs: 60_000 }),
        async (_s, f) => {
          tookOverAtMonoMs = clock.monotonicMs();
          return f;
        },
      ),
    );
    assert.equal(fence, 7);
    assert.equal(tookOverAtMonoMs, 90_000, 'one lease after the first sighting, not a poll later');
  });

  it('never takes a live lease, whatever the wall clocks say (contender 10 min ahead)', async () => {
    const clock = new ManualClock();
    clock.skewMs = 10 * 60_000;
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-live',
      expiresAtMs: clock.nowMs() - 9 * 60_000, // the live holder's clock is 10 min behind
      fence: 6,
      rvn: 'r-0',
      leaseMs: LEASE_MS,
    });
    const acquiring = acquireLease(
      lock,
      options(clock, { acquireDeadlineMs: clock.nowMs() + 5 * LEASE_MS, pollMs: 5000 }),
    );
    // The holder renews every third of its lease: a new rvn each time.
    for (let i = 1; i <= 14; i++) {
      await clock.advanceMs(LEASE_MS / 3);
      lock.record = {
        ...(lock.record as LockRecord),
        rvn: `r-${i}`,
        expiresAtMs: clock.nowMs() - 9 * 60_000,
      };
    }
    const result = await clock.run(acquiring);
    assert.equal(result.acquired, false);
    assert.equal(lock.record?.owner, 'i-live');
  });

  it('gives up at the deadline with ClusterTimeoutError naming the holder', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'control-plane-join', {
      owner: 'i-busy',
      expiresAtMs: clock.nowMs() + 3_600_000,
      fence: 9,
      rvn: 'r-busy',
      leaseMs: 3_600_000,
    });
    await assert.rejects(
      clock.run(
        holdLease(lock, options(clock, { acquireDeadlineMs: clock.nowMs() + 60_000 }), async () => 'never'),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ClusterTimeoutError);
        assert.match(
          error.message,
          /timed out waiting for the control-plane-join lease of cluster "prod": held by i-busy with fence 9/,
        );
        return true;
      },
    );
    assert.ok(lock.calls.length > 3, 'it polled');
  });

  it('aborts the work and rejects with the lease-lost error when a renewal finds another holder', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    held.catch(() => {});
    await clock.advanceMs(0);
    lock.record = { owner: 'i-thief', expiresAtMs: clock.nowMs() + LEASE_MS, fence: 2 };
    await clock.advanceMs(RENEW_MS);
    const signal = work.seen().signal;
    assert.equal(signal?.aborted, true);
    assert.ok(signal?.reason instanceof StateConflictError);
    await assert.rejects(held, (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /^lost the bootstrap lease of cluster "prod" while renewing it: this instance \(i-me\) held it with fence 1, now held by i-thief with fence 2/,
      );
      return true;
    });
    assert.equal(lock.record?.owner, 'i-thief', "the thief's lease is untouched");
  });

  it('aborts the work before the lease expires when renewals keep failing', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    held.catch(() => {});
    await clock.advanceMs(0);
    const expiresAtMs = lock.record?.expiresAtMs ?? 0;
    lock.onRenew = () => {
      throw new AwsUnavailableError('AWS was unavailable while renewing: ECONNREFUSED');
    };
    await clock.advanceMs(LEASE_MS - 1);
    assert.equal(work.seen().signal?.aborted, true);
    assert.ok(clock.nowMs() < expiresAtMs);
    assert.ok(lock.calls.filter((c) => c === 'renew').length > 2, 'it retried');
    await assert.rejects(held, (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /lost the bootstrap lease of cluster "prod": could not renew it before it expired .*ECONNREFUSED/,
      );
      return true;
    });
  });

  it('counts its lease lost on its monotonic clock: a wall clock stepped back an hour buys no time', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    held.catch(() => {});
    await clock.advanceMs(0);
    lock.onRenew = () => {
      throw new AwsUnavailableError('AWS was unavailable while renewing: ECONNREFUSED');
    };
    clock.skewMs = -3_600_000; // NTP steps the holder's clock back an hour
    await clock.advanceMs(LEASE_MS - 1);
    assert.equal(work.seen().signal?.aborted, true, 'still working past its lease by the monotonic clock');
    assert.ok(clock.monotonicMs() < LEASE_MS);
    await assert.rejects(held, StateConflictError);
  });

  it('keeps working through a transient renewal failure', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    await clock.advanceMs(0);
    let failures = 2;
    lock.onRenew = () => {
      if (failures-- > 0) throw new AwsUnavailableError('blip');
      return undefined;
    };
    await clock.advanceMs(2 * LEASE_MS);
    assert.equal(work.seen().signal?.aborted, false);
    assert.equal(lock.record?.owner, 'i-me');
    work.finish('ok');
    assert.equal(await held, 'ok');
  });

  it('treats a renewal that never answers as failing, and stops the work before expiry', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const work = controllableWork();
    const held = holdLease(lock, options(clock), work.work);
    held.catch(() => {});
    await clock.advanceMs(0);
    const expiresAtMs = lock.record?.expiresAtMs ?? 0;
    lock.onRenew = () => new Promise(() => {});
    await clock.advanceMs(LEASE_MS - 1);
    assert.equal(work.seen().signal?.aborted, true);
    assert.ok(clock.nowMs() < expiresAtMs);
    await assert.rejects(held, /could not renew it before it expired .*no answer within/);
  });

  it('passes an interruption on to the work and still releases', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const interrupt = new AbortController();
    const work = controllableWork();
    const held = holdLease(lock, options(clock, { signal: interrupt.signal }), work.work);
    held.catch(() => {});
    await clock.advanceMs(0);
    interrupt.abort(new InterruptedError('interrupted by SIGTERM'));
    await clock.advanceMs(0);
    await assert.rejects(held, InterruptedError);
    assert.equal(lock.record?.owner, undefined);
  });

  it('reports a release that finds the lease taken over (StateConflictError) even after the work succeeded', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    await assert.rejects(
      clock.run(
        holdLease(lock, options(clock), async () => {
          lock.record = { owner: 'i-other', expiresAtMs: clock.nowMs() + LEASE_MS, fence: 2 };
          return 'done';
        }),
      ),
      /lost the bootstrap lease of cluster "prod" while releasing it/,
    );
  });

  it('logs and still returns when the release cannot reach the store (the lease frees itself)', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    lock.onRelease = () => {
      throw new AwsUnavailableError('down');
    };
    const captured = captureLogger();
    assert.equal(
      await clock.run(holdLease(lock, options(clock, { logger: captured.logger }), async () => 'ok')),
      'ok',
    );
    assert.ok(captured.lines.some((line) => /could not release the bootstrap lease/.test(line.msg)));
  });
});

describe('acquireLease', () => {
  it('returns the holder as a typed outcome instead of throwing', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-other',
      expiresAtMs: clock.nowMs() + 1000,
      fence: 3,
    });
    const outcome = await acquireLease(lock, options(clock, { watchHeld: false }));
    assert.equal(outcome.acquired, false);
    if (!outcome.acquired) assert.equal(outcome.current.owner, 'i-other');
  });

  it('retries a transient failure while waiting, but throws it when not waiting', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    let failures = 1;
    const realTry = lock.tryAcquire.bind(lock);
    lock.tryAcquire = async (request) => {
      if (failures-- > 0) throw new AwsUnavailableError('blip');
      return realTry(request);
    };
    await assert.rejects(acquireLease(lock, options(clock)), AwsUnavailableError);
    failures = 1;
    const outcome = await clock.run(
      acquireLease(lock, options(clock, { acquireDeadlineMs: clock.nowMs() + 60_000 })),
    );
    assert.equal(outcome.acquired, true);
  });
});
