import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaveOptionsFrom } from '../../../src/cli/handlers/leave.js';
import { UsageError } from '../../../src/core/errors.js';

describe('kboot leave options', () => {
  it('defaults: hook kboot-leave, a 5-minute drain, 5 s polls, the action named by instance id', () => {
    assert.deepEqual(leaveOptionsFrom({}), {
      hookName: 'kboot-leave',
      drainTimeoutMs: 300_000,
      pollMs: 5000,
    });
  });

  it('takes every flag', () => {
    const token = '3f1c8a2e-9b7d-4c61-a5e2-0d9f4b6c7e81';
    assert.deepEqual(
      leaveOptionsFrom({
        drainTimeout: '90s',
        lifecycleHook: 'drain-hook',
        lifecycleActionToken: token,
        heartbeatInterval: '30s',
        pollInterval: '1s',
      }),
      {
        hookName: 'drain-hook',
        drainTimeoutMs: 90_000,
        lifecycleActionToken: token,
        heartbeatIntervalMs: 30_000,
        pollMs: 1000,
      },
    );
  });

  const bad: { name: string; options: Parameters<typeof leaveOptionsFrom>[0]; message: RegExp }[] = [
    { name: 'a hook name with spaces', options: { lifecycleHook: 'my hook' }, message: /--lifecycle-hook/ },
    {
      name: 'a token that is not a UUID',
      options: { lifecycleActionToken: 'abc' },
      message: /--lifecycle-action-token/,
    },
    {
      name: '--watch with --only-if-terminating',
      options: { watch: true, onlyIfTerminating: true },
      message: /cannot be combined/,
    },
    {
      name: 'a drain deadline under 1 s',
      options: { drainTimeout: '10ms' },
      message: /--drain-timeout must be between 1s and 24d, got 10ms/,
    },
    {
      name: 'a heartbeat interval under 1 s',
      options: { heartbeatInterval: '0s' },
      message: /--heartbeat-interval must be between 1s and 24d/,
    },
    {
      name: 'a poll interval under 100 ms',
      options: { pollInterval: '1ms' },
      message: /--poll-interval must be between 100ms and 24d/,
    },
    {
      name: 'a drain deadline that is no duration',
      options: { drainTimeout: 'soon' },
      message: /--drain-timeout/,
    },
  ];
  for (const { name, options, message } of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => leaveOptionsFrom(options),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
});
