/**
 * The bootstrap token's lifetime, asserted as a number: the first master's token (flowSettings)
 * and rotate's default both live 24 h, and a flag sets rotate's exactly. A TTL of 0 would make
 * kubeadm create a token that never expires; only these tests pin the value itself.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flowSettings } from '../../../src/cli/flow-deps.js';
import { rotateOptionsFrom } from '../../../src/cli/handlers/rotate.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('bootstrap token TTL', () => {
  it('is 24 h for the token the first master creates at init', () => {
    assert.equal(flowSettings({}, {} as never, {}).tokenTtlMs, DAY_MS);
  });

  it("is 24 h by default for rotate's new token, and exactly what --token-ttl says", () => {
    assert.equal(rotateOptionsFrom({}).tokenTtlMs, DAY_MS);
    assert.equal(rotateOptionsFrom({ tokenTtl: '6h' }).tokenTtlMs, 6 * 60 * 60 * 1000);
  });
});
