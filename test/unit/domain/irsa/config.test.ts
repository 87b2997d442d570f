/** `addons.irsa` in the node config: the bucket, its region and more audiences, or false for off. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';

describe('node config addons.irsa', () => {
  const good: [string, unknown][] = [
    ['addons: { irsa: { bucket: kboot-oidc } }', { bucket: 'kboot-oidc' }],
    [
      'addons: { irsa: { bucket: kboot-oidc, region: eu-west-1, audiences: [https://kubernetes.default.svc] } }',
      { bucket: 'kboot-oidc', region: 'eu-west-1', audiences: ['https://kubernetes.default.svc'] },
    ],
    ['addons: { irsa: false }', undefined],
    ['addons: { cni: cilium }', undefined],
  ];
  for (const [text, expected] of good) {
    it(`reads ${text}`, () => {
      assert.deepEqual(parseNodeConfig(text, 'config.yaml').addons?.irsa, expected);
    });
  }

  const bad: [string, string, RegExp][] = [
    [
      'true (no bucket)',
      'addons: { irsa: true }',
      /field addons\.irsa: expected \{ bucket, region\?, audiences\? \} or false/,
    ],
    ['no bucket', 'addons: { irsa: { region: eu-west-1 } }', /field addons\.irsa\.bucket/],
    [
      'a dotted bucket',
      'addons: { irsa: { bucket: oidc.example.com } }',
      /field addons\.irsa\.bucket: .*no dots/,
    ],
    ['an upper-case bucket', 'addons: { irsa: { bucket: Kboot } }', /field addons\.irsa\.bucket/],
    [
      'a bad region',
      'addons: { irsa: { bucket: kboot-oidc, region: europe } }',
      /field addons\.irsa\.region/,
    ],
    [
      'an audience with a comma',
      'addons: { irsa: { bucket: kboot-oidc, audiences: ["a,b"] } }',
      /field addons\.irsa\.audiences\.0/,
    ],
    [
      'an unknown field',
      'addons: { irsa: { bucket: kboot-oidc, issuer: x } }',
      /unknown field addons\.irsa\.issuer/,
    ],
  ];
  for (const [label, text, message] of bad) {
    it(`rejects ${label}, naming the field`, () => {
      assert.throws(
        () => parseNodeConfig(text, '/etc/kboot/config.yaml'),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});
