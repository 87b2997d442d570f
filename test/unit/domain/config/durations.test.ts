/**
 * Every duration kboot reads is bounded: under 2^31 ms (Node's timers) and above a minimum under
 * which kboot would spin; the lease between 30 s and 1 h. Out of bounds is exit 2, naming the
 * field and its bounds. docs/nodes.md lists the same bounds.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { flowSettings } from '../../../../src/cli/flow-deps.js';
import { rotateOptionsFrom } from '../../../../src/cli/handlers/rotate.js';
import { formatDurationMs, MAX_TIMER_MS, parseDurationMs } from '../../../../src/core/duration.js';
import { ConfigError, UsageError } from '../../../../src/core/errors.js';
import {
  DURATION_BOUNDS,
  durationLimits,
  MAX_LEASE_MS,
  MIN_LEASE_MS,
} from '../../../../src/domain/config/durations.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';

const usage = (pattern: RegExp) => (error: unknown) =>
  (error instanceof UsageError || error instanceof ConfigError) &&
  error.exitCode === 2 &&
  pattern.test(error.message);

describe('duration bounds', () => {
  it('keeps every maximum below 2^31 ms and every minimum above zero', () => {
    for (const [field, bounds] of Object.entries(DURATION_BOUNDS)) {
      assert.ok(bounds.maxMs < MAX_TIMER_MS, field);
      assert.ok(bounds.minMs > 0 && bounds.minMs < bounds.maxMs, field);
    }
    assert.deepEqual([MIN_LEASE_MS, MAX_LEASE_MS], [30_000, 3_600_000]);
  });

  const leases: [string, boolean][] = [
    ['0s', false],
    ['29s', false],
    ['30s', true],
    ['10m', true],
    ['1h', true],
    ['61m', false],
    ['99999999d', false],
  ];
  for (const [lease, valid] of leases) {
    it(`${valid ? 'accepts' : 'refuses'} timeouts.lease: ${lease}`, () => {
      const text = `timeouts: { lease: ${lease} }\n`;
      if (valid) assert.equal(parseNodeConfig(text, 'c.yaml').timeouts?.lease, lease);
      else
        assert.throws(
          () => parseNodeConfig(text, 'c.yaml'),
          usage(new RegExp(`field timeouts\\.lease: expected a duration between 30s and 1h, got ${lease}`)),
        );
    });
  }

  it('refuses a config timeout past 24 days or under a second, naming the field', () => {
    for (const [field, value] of [
      ['waitForInit', '25d'],
      ['kubeadm', '0s'],
      ['addons', '999999999999s'],
    ]) {
      assert.throws(
        () => parseNodeConfig(`timeouts: { ${field}: ${value} }\n`, 'c.yaml'),
        usage(new RegExp(`field timeouts\\.${field}: expected a duration between 1s and 24d`)),
      );
    }
    // Syntax errors still say so first.
    assert.throws(
      () => parseNodeConfig('timeouts: { lease: soon }\n', 'c.yaml'),
      usage(/expected a duration like/),
    );
  });

  it('lowers the lease minimum only through KBOOT_MIN_LEASE_MS, itself bounded', () => {
    const limits = durationLimits({ KBOOT_MIN_LEASE_MS: '1000' });
    assert.equal(parseNodeConfig('timeouts: { lease: 3s }\n', 'c.yaml', limits).timeouts?.lease, '3s');
    assert.equal(
      flowSettings({}, { timeouts: { lease: '3s' } }, { KBOOT_MIN_LEASE_MS: '1000' }).leaseMs,
      3000,
    );
    assert.throws(
      () => flowSettings({}, { timeouts: { lease: '3s' } }, {}),
      usage(/timeouts\.lease must be between 30s and 1h, got 3s/),
    );
    for (const bad of ['0', '40000', 'soon', '1.5']) {
      assert.throws(
        () => durationLimits({ KBOOT_MIN_LEASE_MS: bad }),
        usage(/KBOOT_MIN_LEASE_MS must be a whole number of milliseconds from 1000 to 30000/),
      );
    }
  });

  it('bounds flags and KBOOT_POLL_MS', () => {
    assert.equal(flowSettings({}, {}, { KBOOT_POLL_MS: '200' }).pollMs, 200);
    assert.equal(flowSettings({}, {}, {}).pollMs, 3000);
    for (const bad of ['0', '-5', 'abc', '99999999999', '1e3']) {
      assert.throws(
        () => flowSettings({}, {}, { KBOOT_POLL_MS: bad }),
        usage(/KBOOT_POLL_MS must be a whole number of milliseconds from 10 to 600000/),
        bad,
      );
    }
    assert.throws(
      () => flowSettings({ waitTimeout: '30d' }, {}, {}),
      usage(/--wait-timeout must be between 1s and 24d, got 30d/),
    );
    assert.throws(
      () => flowSettings({}, { timeouts: { waitForInit: '0s' } }, {}),
      usage(/timeouts\.waitForInit must be between/),
    );
    assert.throws(
      () => rotateOptionsFrom({ tokenTtl: '90d' }),
      usage(/--token-ttl must be between 1s and 24d, got 90d/),
    );
    assert.throws(() => parseDurationMs('25d', 'x'), usage(/x must be between 0ms and 24d/));
  });

  it('lists the same bounds in docs/nodes.md', () => {
    const page = readFileSync(
      path.join(import.meta.dirname, '..', '..', '..', '..', 'docs', 'nodes.md'),
      'utf8',
    );
    for (const [field, bounds] of Object.entries(DURATION_BOUNDS)) {
      const env = field.startsWith('KBOOT_');
      const min = env ? String(bounds.minMs) : formatDurationMs(bounds.minMs);
      const max = env ? String(bounds.maxMs) : formatDurationMs(bounds.maxMs);
      const row = new RegExp(`^\\| \`${field}\`[^|]* \\| ${min} \\| ${max} \\|$`, 'm');
      assert.match(page, row, field);
    }
  });
});
