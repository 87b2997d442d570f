/**
 * A test-only program that plays one instance against the kboot table, so integration tests can
 * race real processes (and SIGKILL them). AWS settings come from the environment (moto.awsEnv()).
 *
 *   node --import tsx test/support/lease-driver.ts acquire --cluster C --owner I [--lock L]
 *        [--table T] [--lease-ms N] [--wait-for-go]
 *     one acquisition attempt; prints {"event":"acquired","fence":N} or
 *     {"event":"lost","holder":..,"holderFence":..}. With --wait-for-go it prints
 *     {"event":"ready"}, then makes one attempt per line read on stdin (a start barrier for
 *     races, reused round after round) until stdin closes.
 *
 *   node --import tsx test/support/lease-driver.ts hold --cluster C --owner I [--lock L]
 *        [--table T] [--lease-ms N] [--renew-ms N] [--work-ms N] [--wait-ms N]
 *     holdLease around work that sleeps --work-ms; prints {"event":"acquired","fence":N} when
 *     the work starts, {"event":"aborted","atMs":..} if its signal aborts, {"event":"done"} at
 *     the end.
 *
 * Failures print {"event":"error","code":..,"message":..} on stderr and exit with the error's
 * kboot exit code.
 */

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { AwsClients } from '../../src/adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { systemClock } from '../../src/core/clock.js';
import { isKbootError, toKbootError } from '../../src/core/errors.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { holdLease } from '../../src/domain/state/hold-lease.js';
import { LOCK_NAMES, type LockName } from '../../src/domain/state/lease.js';

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function run(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cluster: { type: 'string' },
      owner: { type: 'string' },
      lock: { type: 'string', default: 'bootstrap' },
      table: { type: 'string', default: 'kboot' },
      'lease-ms': { type: 'string', default: '60000' },
      'renew-ms': { type: 'string' },
      'work-ms': { type: 'string', default: '0' },
      'wait-ms': { type: 'string' },
      'wait-for-go': { type: 'boolean', default: false },
    },
  });
  const [command] = positionals;
  const { cluster, owner } = values;
  if (cluster === undefined || owner === undefined) throw new Error('--cluster and --owner are required');
  const lockName = LOCK_NAMES.find((name) => name === values.lock) as LockName | undefined;
  if (lockName === undefined) throw new Error(`unknown lock ${values.lock}`);
  const logger = await createLogger({
    level: (process.env.LEASE_DRIVER_LOG_LEVEL ?? 'warn') as LogLevel,
    format: 'json',
  });
  const clients = new AwsClients({ region: process.env.AWS_REGION ?? 'us-east-1', logger });
  try {
    const store = new DynamoDbClusterStore({ dynamodb: await clients.dynamodb(), tableName: values.table });
    const lock = store.leaseLock(cluster, lockName);
    const leaseMs = Number(values['lease-ms']);
    if (command === 'acquire') {
      const attempt = async (): Promise<void> => {
        const outcome = await lock.tryAcquire({ owner, nowMs: systemClock.nowMs(), leaseMs });
        emit(
          outcome.acquired
            ? { event: 'acquired', fence: outcome.lease.fence, owner }
            : { event: 'lost', owner, holder: outcome.current.owner, holderFence: outcome.current.fence },
        );
      };
      if (!values['wait-for-go']) return attempt();
      emit({ event: 'ready' });
      for await (const _go of createInterface({ input: process.stdin })) await attempt();
      return;
    }
    if (command === 'hold') {
      const workMs = Number(values['work-ms']);
      const waitMs = values['wait-ms'] === undefined ? undefined : Number(values['wait-ms']);
      await holdLease(
        lock,
        {
          owner,
          clock: systemClock,
          logger,
          leaseMs,
          renewIntervalMs: values['renew-ms'] === undefined ? undefined : Number(values['renew-ms']),
          acquireDeadlineMs: waitMs === undefined ? undefined : systemClock.nowMs() + waitMs,
          pollMs: 200,
        },
        async (signal, fence) => {
          emit({ event: 'acquired', fence, owner });
          try {
            await systemClock.sleepMs(workMs, signal);
          } catch (error) {
            emit({ event: 'aborted', atMs: Date.now(), owner });
            throw error;
          }
        },
      );
      emit({ event: 'done', owner });
      return;
    }
    throw new Error(`unknown command ${command}`);
  } finally {
    clients.destroy();
  }
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    const failure = isKbootError(error) ? error : toKbootError(error, 'running the lease driver');
    process.stderr.write(
      `${JSON.stringify({ event: 'error', code: failure.code, message: failure.message, hint: failure.hint })}\n`,
    );
    process.exit(failure.exitCode);
  },
);
