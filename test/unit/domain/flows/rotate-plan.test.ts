import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../../src/core/errors.js';
import {
  type CurrentExpiry,
  checkRotatePolicy,
  DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_TTL_MS,
  decideRenewal,
  describeDecision,
  expiredKbootTokenIds,
  keyMayBeInUse,
  planRotation,
  type RotatePolicy,
} from '../../../../src/domain/flows/rotate-plan.js';
import type { ListedToken } from '../../../../src/domain/kubeadm/token-list.js';

const NOW = Date.UTC(2025, 0, 31, 12);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const DEFAULTS: RotatePolicy = {
  tokenTtlMs: DEFAULT_TOKEN_TTL_MS,
  tokenRenewBeforeMs: DEFAULT_TOKEN_RENEW_BEFORE_MS,
  certificateKeyRenewBeforeMs: DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
};

const present = (expiresAtMs: number): CurrentExpiry => ({ state: 'present', expiresAtMs });

describe('decideRenewal', () => {
  const cases: { name: string; current: CurrentExpiry; renew: boolean; reason?: string }[] = [
    { name: 'missing material', current: { state: 'missing' }, renew: true, reason: 'missing' },
    { name: 'unreadable material', current: { state: 'unreadable' }, renew: true, reason: 'unreadable' },
    { name: 'expired long ago', current: present(NOW - 3 * HOUR), renew: true, reason: 'expired' },
    { name: 'expiring this very millisecond', current: present(NOW), renew: true, reason: 'expired' },
    {
      name: '1 ms under the threshold',
      current: present(NOW + 8 * HOUR - 1),
      renew: true,
      reason: 'expiring',
    },
    { name: 'exactly at the threshold', current: present(NOW + 8 * HOUR), renew: false },
    { name: 'well above the threshold', current: present(NOW + 20 * HOUR), renew: false },
  ];
  for (const { name, current, renew, reason } of cases) {
    it(`${name}: ${renew ? `renew (${reason})` : 'keep'}`, () => {
      const decision = decideRenewal(current, NOW, 8 * HOUR);
      assert.equal(decision.renew, renew);
      if (decision.renew) assert.equal(decision.reason, reason);
      if (current.state === 'present') {
        assert.equal(decision.expiresAtMs, current.expiresAtMs);
        assert.equal(decision.remainingMs, current.expiresAtMs - NOW);
      } else {
        assert.equal(decision.remainingMs, undefined);
      }
    });
  }
});

describe('planRotation with the default policy (token 24h, renew under 8h; key renewed under 30m of 2h)', () => {
  const cases: { tokenAgeMs: number; keyAgeMs: number; token: boolean; key: boolean }[] = [
    { tokenAgeMs: 0, keyAgeMs: 0, token: false, key: false },
    { tokenAgeMs: 16 * HOUR, keyAgeMs: 90 * MINUTE, token: false, key: false },
    { tokenAgeMs: 16 * HOUR + 1, keyAgeMs: 90 * MINUTE + 1, token: true, key: true },
    { tokenAgeMs: 10 * HOUR, keyAgeMs: 100 * MINUTE, token: false, key: true },
    { tokenAgeMs: 30 * 24 * HOUR, keyAgeMs: 30 * 24 * HOUR, token: true, key: true },
  ];
  for (const { tokenAgeMs, keyAgeMs, token, key } of cases) {
    it(`token ${tokenAgeMs / MINUTE} min old, key ${keyAgeMs / MINUTE} min old → token ${token ? 'renew' : 'keep'}, key ${key ? 'renew' : 'keep'}`, () => {
      const plan = planRotation(
        {
          token: present(NOW - tokenAgeMs + DEFAULT_TOKEN_TTL_MS),
          certificateKey: present(NOW - keyAgeMs + 2 * HOUR),
        },
        NOW,
        DEFAULTS,
      );
      assert.equal(plan.token.renew, token);
      assert.equal(plan.certificateKey.renew, key);
    });
  }

  it('renews each part on its own', () => {
    const plan = planRotation(
      { token: { state: 'missing' }, certificateKey: present(NOW + HOUR) },
      NOW,
      DEFAULTS,
    );
    assert.equal(plan.token.renew, true);
    assert.equal(plan.certificateKey.renew, false);
  });
});

describe('checkRotatePolicy', () => {
  it('accepts the defaults', () => checkRotatePolicy(DEFAULTS));

  const bad: { name: string; policy: Partial<RotatePolicy>; message: RegExp }[] = [
    {
      name: 'a zero token TTL',
      policy: { tokenTtlMs: 0 },
      message: /--token-ttl must be a positive duration/,
    },
    {
      name: 'a negative renew-before',
      policy: { tokenRenewBeforeMs: -1 },
      message: /--renew-before must be/,
    },
    { name: 'a NaN TTL', policy: { tokenTtlMs: Number.NaN }, message: /--token-ttl/ },
    {
      name: 'renew-before as long as the TTL',
      policy: { tokenRenewBeforeMs: 24 * HOUR },
      message: /--renew-before \(1d\) must be shorter than --token-ttl \(1d\)/,
    },
    {
      name: 'a key threshold of two hours',
      policy: { certificateKeyRenewBeforeMs: 2 * HOUR },
      message: /--certificate-key-renew-before \(2h\) must be shorter than the 2h/,
    },
    {
      name: 'a zero key threshold',
      policy: { certificateKeyRenewBeforeMs: 0 },
      message: /--certificate-key-renew-before must be a positive duration/,
    },
  ];
  for (const { name, policy, message } of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => checkRotatePolicy({ ...DEFAULTS, ...policy }),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
});

describe('expiredKbootTokenIds', () => {
  const token = (
    id: string,
    description: string | undefined,
    expiresAtMs: number | undefined,
  ): ListedToken => ({
    id,
    description,
    expiresAtMs,
    usages: ['signing', 'authentication'],
    groups: ['system:bootstrappers:kubeadm:default-node-token'],
  });
  const listed: ListedToken[] = [
    token('aaaaa1', 'kboot: created by i-1 at cluster init', NOW - HOUR),
    token('aaaaa2', 'kboot: created by i-1 (kboot rotate)', NOW),
    token('aaaaa3', 'kboot: created by i-2 (kboot rotate)', NOW + 1),
    token('aaaaa4', 'kboot: created by someone', undefined),
    token('bbbbb1', "The default bootstrap token generated by 'kubeadm init'.", NOW - HOUR),
    token('bbbbb2', 'Proxy for managing TTL for the kubeadm-certs secret', NOW - HOUR),
    token('bbbbb3', undefined, NOW - HOUR),
    token('bbbbb4', 'my kboot: token', NOW - HOUR),
    token('aaaaa5', 'kboot: created by i-1 (kboot rotate)', NOW - 2 * HOUR),
  ];

  it('deletes kboot tokens expired at now, and nothing else', () => {
    assert.deepEqual(expiredKbootTokenIds(listed, NOW), ['aaaaa1', 'aaaaa2', 'aaaaa5']);
  });

  it('never deletes a token it was told to keep', () => {
    assert.deepEqual(expiredKbootTokenIds(listed, NOW, ['aaaaa2', 'zzzzzz']), ['aaaaa1', 'aaaaa5']);
  });

  it('deletes nothing from an empty list', () => {
    assert.deepEqual(expiredKbootTokenIds([], NOW), []);
  });
});

describe('keyMayBeInUse', () => {
  for (const [name, current, expected] of [
    ['a key with life left', present(NOW + 10 * MINUTE), true],
    ['an expired key', present(NOW - 1), false],
    ['a key expiring now', present(NOW), false],
    ['a missing key', { state: 'missing' }, false],
    ['an unreadable key', { state: 'unreadable' }, false],
  ] as const) {
    it(`${name}: ${expected}`, () => {
      assert.equal(keyMayBeInUse(decideRenewal(current, NOW, 30 * MINUTE)), expected);
    });
  }
});

describe('describeDecision', () => {
  for (const [current, text] of [
    [present(NOW + 5 * HOUR), 'expires in 5h, under the 8h threshold'],
    [present(NOW + 20 * HOUR), 'expires in 20h, above the 8h threshold'],
    [present(NOW - 2 * HOUR), 'expired 2h ago'],
    [{ state: 'missing' }, 'is missing'],
    [{ state: 'unreadable' }, 'is unreadable'],
  ] as const) {
    it(text, () => assert.equal(describeDecision(decideRenewal(current, NOW, 8 * HOUR), 8 * HOUR), text));
  }
});
