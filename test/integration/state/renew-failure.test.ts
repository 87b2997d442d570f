/**
 * A holder whose renewals fail stops: moto goes away under a holder with a short lease, and the
 * holder's work is aborted with the lease-lost error and the process exits non-zero — before its
 * lease could have been taken over. moto then comes back on the same port (empty, as after an
 * outage that lost state), and the holder does not carry on.
 */

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { ExitCode } from '../../../src/core/errors.js';
import { type Moto, startMoto, useMoto } from '../../support/moto.js';
import { driver, freshTable, motoDynamo } from './helpers.js';

const moto = useMoto();
let restarted: Moto | undefined;

after(async () => {
  await restarted?.stop();
});

it('a holder whose renewals fail stops its work and exits with the lease-lost error', {
  timeout: 90_000,
}, async () => {
  const dynamodb = motoDynamo(moto);
  await freshTable(moto, dynamodb);
  dynamodb.destroy();
  const leaseMs = 1500;
  const holder = driver(moto, [
    'hold',
    '--cluster',
    'flaky',
    '--owner',
    'i-holder',
    '--lease-ms',
    String(leaseMs),
    '--renew-ms',
    '500',
    '--work-ms',
    '60000',
  ]);
  assert.equal((await holder.next('acquired')).fence, 1);
  const acquiredAtMs = Date.now();

  await moto.stop();
  const stoppedAtMs = Date.now();
  await new Promise((resolve) => setTimeout(resolve, leaseMs + 500));
  restarted = await startMoto({ port: moto.port });

  const { code } = await holder.exited;
  assert.equal(code, ExitCode.stateConflict, holder.stderr);
  assert.equal(
    holder.events.some((event) => event.event === 'done'),
    false,
    'the work did not run to its end',
  );
  const error = holder.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.event === 'error');
  assert.match(
    String(error?.message),
    /^lost the bootstrap lease of cluster "flaky": could not renew it before it expired/,
  );
  // The work stopped while the lease was still valid: its last renewal was before moto stopped,
  // so it expired at the latest leaseMs after that.
  const aborted = holder.events.find((event) => event.event === 'aborted');
  assert.ok(aborted !== undefined, 'the work saw its signal abort');
  assert.ok(
    (aborted.atMs as number) <= stoppedAtMs + leaseMs,
    `aborted ${(aborted.atMs as number) - stoppedAtMs} ms after the outage began`,
  );
  assert.ok(Date.now() - acquiredAtMs < 30_000, 'not because the 60 s of work ended');
});
