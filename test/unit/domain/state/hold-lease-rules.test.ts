/**
 * Holding a lease, rule by rule: what it logs and the fields of its errors, the exact moment it
 * gives up at a deadline, which store errors it retries, that work which ignores its signal is
 * still cut off when the lease is lost, that a renewal after the lease ran out is not even sent,
 * and `holdAcquired` (the flows' lease step) renewing, losing and releasing.
 */

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  AwsUnavailableError,
  ClusterTimeoutError,
  ConfigError,
  StateConflictError,
} from '../../../../src/core/errors.js';
import {
  acquireLease,
  type HoldLeaseOptions,
  holdAcquired,
  holdLease,
  runUnderLease,
} from '../../../../src/domain/state/hold-lease.js';
import type {
  AcquireOutcome,
  LeaseLock,
  LeaseRef,
  LockRecord,
  OwnLease,
  RenewOutcome,
} from '../../../../src/domain/state/lease.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { type CapturedLine, captureLogger, INFO, WARN } from './capture-logger.js';
import { FakeLeaseLock } from './fake-lease-lock.js';
import { ManualClock } from './manual-clock.js';

const LEASE_MS = 60_000;
const RENEW_MS = 20_000;
const DEBUG = 20;
const LABEL = 'bootstrap lease of cluster "prod"';

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

/** The lines a run logged: level, message and the named fields. */
function logged(lines: CapturedLine[], fields: string[] = []): unknown[] {
  return lines.map((line) => [
    line.level,
    line.msg,
    Object.fromEntries(fields.filter((f) => f in line).map((f) => [f, line[f]])),
  ]);
}

/** A lock whose renewals take `renewMs` of clock time and honour their abort signal. */
class SlowRenewLock extends FakeLeaseLock {
  renewMs = 0;
  signals: AbortSignal[] = [];
  readonly #clock: ManualClock;

  constructor(clock: ManualClock) {
    super();
    this.#clock = clock;
  }

  override async renew(
    lease: LeaseRef,
    timing: { nowMs: number; leaseMs: number },
    signal?: AbortSignal,
  ): Promise<RenewOutcome> {
    if (signal !== undefined) this.signals.push(signal);
    await this.#clock.sleepMs(this.renewMs, signal);
    return super.renew(lease, timing);
  }
}

describe('holdLease logs', () => {
  it('acquiring, renewing and releasing, with the lease named and its fence', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const captured = captureLogger();
    const held = holdLease(lock, options(clock, { logger: captured.logger }), async () => {
      await clock.sleepMs(RENEW_MS + 1);
      return 'done';
    });
    assert.equal(await clock.run(held), 'done');
    assert.deepEqual(logged(captured.lines, ['cluster', 'lock', 'fence', 'leaseMs']), [
      [INFO, `acquired the ${LABEL}`, { cluster: 'prod', lock: 'bootstrap', fence: 1, leaseMs: LEASE_MS }],
      [DEBUG, `renewed the ${LABEL}`, { cluster: 'prod', lock: 'bootstrap', fence: 1 }],
      [INFO, `released the ${LABEL}`, { cluster: 'prod', lock: 'bootstrap', fence: 1 }],
    ]);
  });

  it('a takeover at warn, naming the holder that stopped renewing', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', {
      owner: 'i-dead',
      fence: 2,
      rvn: 'r-1',
      leaseMs: 30_000,
    });
    const captured = captureLogger();
    const result = await clock.run(
      acquireLease(lock, options(clock, { logger: captured.logger, pollMs: 5000 })),
    );
    assert.ok(result.acquired);
    assert.deepEqual(
      logged(
        captured.lines.filter((l) => l.level >= WARN),
        ['cluster', 'lock', 'fence', 'leaseMs', 'previousOwner', 'previousFence'],
      ),
      [
        [
          WARN,
          `took over the ${LABEL} from i-dead: it did not renew for a full lease`,
          {
            cluster: 'prod',
            lock: 'bootstrap',
            fence: 3,
            leaseMs: LEASE_MS,
            previousOwner: 'i-dead',
            previousFence: 2,
          },
        ],
      ],
    );
  });

  it('waiting: the holder and the time waited so far, every 30 s', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', { owner: 'i-other', fence: 2 });
    lock.holderRenews = true;
    const captured = captureLogger();
    const outcome = acquireLease(
      lock,
      options(clock, { logger: captured.logger, pollMs: 10_000, acquireDeadlineMs: clock.nowMs() + 65_000 }),
    );
    const result = await clock.run(outcome);
    assert.equal(result.acquired, false);
    const waits = captured.lines.filter((l) => l.msg.startsWith('waiting for the'));
    assert.deepEqual(
      waits.map((l) => [l.level, l.cluster, l.lock, l.holder, l.elapsedMs]),
      [
        [INFO, 'prod', 'bootstrap', 'i-other', 0],
        [INFO, 'prod', 'bootstrap', 'i-other', 30_000],
        [INFO, 'prod', 'bootstrap', 'i-other', 60_000],
      ],
    );
  });

  it('a transient failure while waiting at warn, then a retry', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const real = lock.tryAcquire.bind(lock);
    let failures = 1;
    lock.tryAcquire = async (request) => {
      if (failures-- > 0) throw new AwsUnavailableError('DynamoDB is unreachable');
      return real(request);
    };
    const captured = captureLogger();
    const result = await clock.run(
      acquireLease(
        lock,
        options(clock, { logger: captured.logger, acquireDeadlineMs: clock.nowMs() + 60_000 }),
      ),
    );
    assert.ok(result.acquired);
    const warn = captured.lines.find((l) => l.level === WARN);
    assert.equal(warn?.msg, `could not reach the ${LABEL}; retrying`);
    assert.equal(warn?.cluster, 'prod');
    assert.equal(warn?.lock, 'bootstrap');
    assert.match(JSON.stringify(warn?.err), /DynamoDB is unreachable/);
  });

  for (const [name, onRelease, expected] of [
    [
      'released',
      () => undefined,
      [INFO, `released the ${LABEL}`, { cluster: 'prod', lock: 'bootstrap', fence: 1 }],
    ],
    [
      'found taken over',
      () => ({ released: false, current: { owner: 'i-other', fence: 5 } }) as const,
      [
        WARN,
        `did not release the ${LABEL}: held by i-other with fence 5 with no expiry`,
        { cluster: 'prod', lock: 'bootstrap', fence: 1 },
      ],
    ],
    [
      'unreachable',
      () => {
        throw new AwsUnavailableError('no route to DynamoDB');
      },
      [
        WARN,
        `could not release the ${LABEL}; it frees itself when it expires`,
        { cluster: 'prod', lock: 'bootstrap', fence: 1 },
      ],
    ],
  ] as const) {
    it(`after failed work, the release (${name}), and the work's error is the one thrown`, async () => {
      const clock = new ManualClock();
      const lock = new FakeLeaseLock();
      lock.onRelease = onRelease;
      const captured = captureLogger();
      await assert.rejects(
        clock.run(
          holdLease(lock, options(clock, { logger: captured.logger }), async () => {
            throw new Error('kubeadm failed');
          }),
        ),
        /kubeadm failed/,
      );
      assert.deepEqual(logged(captured.lines, ['cluster', 'lock', 'fence']).at(-1), expected);
    });
  }
  it('a failed renewal at warn, with the time left, and a release that cannot reach the store', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    let failures = 1;
    lock.onRenew = () => {
      if (failures-- > 0) throw new AwsUnavailableError('blip');
      return undefined;
    };
    lock.onRelease = () => {
      throw new AwsUnavailableError('down');
    };
    const captured = captureLogger();
    const held = holdLease(lock, options(clock, { logger: captured.logger }), async () => {
      await clock.sleepMs(RENEW_MS + 1);
      return 'ok';
    });
    assert.equal(await clock.run(held), 'ok');
    assert.deepEqual(
      logged(
        captured.lines.filter((l) => l.level === WARN),
        ['cluster', 'lock', 'fence', 'leftMs'],
      ),
      [
        [
          WARN,
          `could not renew the ${LABEL}; retrying (expires in 40s)`,
          { cluster: 'prod', lock: 'bootstrap', leftMs: LEASE_MS - RENEW_MS },
        ],
        [
          WARN,
          `could not release the ${LABEL}; it frees itself when it expires`,
          { cluster: 'prod', lock: 'bootstrap', fence: 1 },
        ],
      ],
    );
    for (const line of captured.lines.filter((l) => l.level === WARN))
      assert.match(JSON.stringify(line.err), /blip|down/);
  });
});

describe('acquireLease: deadlines and errors', () => {
  it('gives up at its deadline exactly, not a poll later', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock('prod', 'bootstrap', { owner: 'i-busy', fence: 1 });
    lock.holderRenews = true;
    const result = await clock.run(
      acquireLease(lock, options(clock, { pollMs: 5000, acquireDeadlineMs: clock.nowMs() + 7000 })),
    );
    assert.equal(result.acquired, false);
    assert.equal(clock.monotonicMs(), 7000);
    assert.deepEqual(lock.calls, ['tryAcquire', 'tryAcquire', 'tryAcquire']);
  });

  it('throws an error that is not transient at once, even with a deadline', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    let calls = 0;
    lock.tryAcquire = async () => {
      calls += 1;
      throw new ConfigError('table kboot does not exist');
    };
    await assert.rejects(
      clock.run(acquireLease(lock, options(clock, { acquireDeadlineMs: clock.nowMs() + 60_000 }))),
      ConfigError,
    );
    assert.equal(calls, 1);
  });

  it('throws a transient error met at the deadline instead of retrying it', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    let calls = 0;
    lock.tryAcquire = async () => {
      calls += 1;
      throw new AwsUnavailableError('DynamoDB is unreachable');
    };
    await assert.rejects(
      clock.run(acquireLease(lock, options(clock, { acquireDeadlineMs: clock.nowMs() }))),
      AwsUnavailableError,
    );
    assert.equal(calls, 1);
  });

  it('does not watch a failed attempt that shows no holder: without a deadline it returns at once', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const lock: LeaseLock = {
      cluster: 'prod',
      name: 'bootstrap',
      tryAcquire: async (): Promise<AcquireOutcome> => {
        calls += 1;
        return { acquired: false, current: { fence: 4 } };
      },
      renew: async () => ({ renewed: false, current: undefined }),
      release: async () => ({ released: true }),
      read: async () => undefined,
    };
    const result = await clock.run(acquireLease(lock, options(clock)), 10 * LEASE_MS);
    assert.deepEqual(result, { acquired: false, current: { fence: 4 } });
    assert.equal(calls, 1);
  });

  it('names the lock, holder and fence in the details of its errors', async () => {
    const clock = new ManualClock();
    const held = { owner: 'i-busy', fence: 9, rvn: 'r', leaseMs: 3_600_000 };
    for (const [extra, type] of [
      [{ watchHeld: false }, StateConflictError],
      [{ acquireDeadlineMs: clock.nowMs() + 1000 }, ClusterTimeoutError],
    ] as const) {
      const lock = new FakeLeaseLock('prod', 'rotate', { ...held });
      await assert.rejects(
        clock.run(holdLease(lock, options(clock, extra), async () => 'never')),
        (error: unknown) => {
          assert.ok(error instanceof type);
          assert.deepEqual(error.details, { cluster: 'prod', lock: 'rotate', holder: 'i-busy', fence: 9 });
          return true;
        },
      );
    }
  });
});

describe('work under a lease', () => {
  it('rejects with the reason of a signal aborted before the work starts, and releases', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const acquired = await acquireLease(lock, options(clock));
    assert.ok(acquired.acquired);
    const controller = new AbortController();
    controller.abort(new Error('SIGTERM'));
    let sawAborted: boolean | undefined;
    await assert.rejects(
      clock.run(
        runUnderLease(lock, acquired.lease, options(clock, { signal: controller.signal }), async (signal) => {
          sawAborted = signal.aborted;
          return 'ignored the signal';
        }),
      ),
      /SIGTERM/,
    );
    assert.equal(sawAborted, true);
    assert.equal(lock.record?.owner, undefined, 'released');
  });

  it('rejects with the lease-lost error even when the work ignores its signal', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    lock.onRenew = () => ({ renewed: false, current: { owner: 'i-other', fence: 7 } });
    const held = holdLease(lock, options(clock), () => new Promise<never>(() => {}));
    await assert.rejects(clock.run(held, 2 * RENEW_MS), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(error.message, /lost the bootstrap lease of cluster "prod" while renewing it/);
      return true;
    });
    assert.equal(clock.monotonicMs(), RENEW_MS);
  });

  it("leaves no listener on the caller's signal", async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const controller = new AbortController();
    await clock.run(holdLease(lock, options(clock, { signal: controller.signal }), async () => 'ok'));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('counts the lease lost without renewing when its renewal comes when it ran out', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const held = holdLease(
      lock,
      options(clock, { renewIntervalMs: LEASE_MS }),
      () => new Promise<never>(() => {}),
    );
    await assert.rejects(clock.run(held, 2 * LEASE_MS), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(
        error.message,
        /could not renew it before it expired \(fence 1; last error: the lease had already expired\)/,
      );
      assert.match(
        error.hint ?? '',
        /check this instance's access to DynamoDB, then `kboot status --cluster prod`/,
      );
      assert.deepEqual(error.details, { cluster: 'prod', lock: 'bootstrap', fence: 1 });
      return true;
    });
    assert.equal(lock.calls.includes('renew'), false);
  });

  it('waits for a slow renewal that answers in time, and keeps the lease', async () => {
    const clock = new ManualClock();
    const lock = new SlowRenewLock(clock);
    lock.renewMs = 2000;
    const captured = captureLogger();
    const held = holdLease(lock, options(clock, { logger: captured.logger }), async () => {
      // Three renewals of 2 s each, one every 20 s after the previous one ended.
      await clock.sleepMs(3 * (RENEW_MS + 2000) + 1000);
      return 'done';
    });
    await clock.advanceMs(RENEW_MS + 3000);
    assert.equal(clock.sleeping, 2, 'the work and the next renewal: the answered one left no timeout');
    assert.equal(await clock.run(held), 'done');
    assert.equal(lock.calls.filter((c) => c === 'renew').length, 3);
    assert.equal(captured.lines.filter((l) => l.level >= WARN).length, 0);
    assert.equal(lock.record?.owner, undefined, 'released');
    assert.equal(clock.sleeping, 0, 'no renewal left a timer behind');
  });

  it('stops a renewal in flight when the work ends, without counting it as a failure', async () => {
    const clock = new ManualClock();
    const lock = new SlowRenewLock(clock);
    lock.renewMs = 10 * LEASE_MS; // answers only when told to stop
    const captured = captureLogger();
    const held = holdLease(lock, options(clock, { logger: captured.logger }), async () => {
      await clock.sleepMs(RENEW_MS + 1000);
      return 'done';
    });
    assert.equal(await clock.run(held), 'done');
    assert.equal(clock.monotonicMs(), RENEW_MS + 1000, 'done as soon as the work was');
    assert.equal(clock.sleeping, 0);
    assert.equal(lock.signals.length, 1);
    assert.equal(lock.signals[0]?.aborted, true, 'the renewal was told to stop');
    assert.equal(captured.lines.filter((l) => l.level >= WARN).length, 0);
    assert.equal(lock.record?.owner, undefined, 'released');
  });
});

describe('holdAcquired', () => {
  async function acquired(
    clock: ManualClock,
    lock: FakeLeaseLock,
    extra: Partial<HoldLeaseOptions> = {},
  ): Promise<OwnLease> {
    const outcome = await acquireLease(lock, options(clock, extra));
    assert.ok(outcome.acquired);
    return outcome.lease;
  }

  it('renews every third of the default lease, keeps the newest lease, and releases', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const first = await acquired(clock, lock, { leaseMs: undefined });
    const captured = captureLogger();
    const holding = holdAcquired(lock, first, { owner: 'i-me', clock, logger: captured.logger });
    assert.equal(holding.label, LABEL);
    await clock.advanceMs(200_000 - 1);
    assert.equal(lock.calls.includes('renew'), false);
    await clock.advanceMs(1);
    assert.equal(lock.calls.filter((c) => c === 'renew').length, 1);
    assert.equal(holding.lease.rvn, lock.record?.rvn);
    assert.notEqual(holding.lease.rvn, first.rvn);
    assert.equal(holding.lease.validFromMonoMs, 200_000);
    await holding.release();
    assert.equal(lock.record?.owner, undefined);
    assert.equal(holding.lost.aborted, false);
    assert.equal(clock.sleeping, 0, 'renewing stopped');
    assert.deepEqual(logged(captured.lines).at(-1), [INFO, `released the ${LABEL}`, {}]);
  });

  it('aborts `lost` when a renewal finds another holder, and then does not release', async () => {
    const clock = new ManualClock();
    const lock = new FakeLeaseLock();
    const lease = await acquired(clock, lock);
    const captured = captureLogger();
    const holding = holdAcquired(lock, lease, options(clock, { logger: captured.logger }));
    lock.record = { ...(lock.record as LockRecord), owner: 'i-other', fence: 2 };
    await clock.advanceMs(RENEW_MS);
    assert.ok(holding.lost.aborted);
    assert.ok(holding.lost.reason instanceof StateConflictError);
    assert.match(holding.lost.reason.message, /now held by i-other with fence 2/);
    await holding.release();
    assert.equal(lock.record?.owner, 'i-other');
    assert.equal(lock.calls.includes('release'), false);
    assert.deepEqual(logged(captured.lines, ['cluster', 'lock', 'fence']).at(-1), [
      WARN,
      `not releasing the ${LABEL}: it was lost`,
      { cluster: 'prod', lock: 'bootstrap', fence: 1 },
    ]);
  });
});
