/** The cluster PKI bundle: made whole from kubeadm's files or refused, kept out of logs, read back field by field. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { StateConflictError } from '../../../../src/core/errors.js';
import {
  PKI_FILES,
  type PkiFile,
  parsePkiBundle,
  pkiBundle,
  serializePkiBundle,
} from '../../../../src/domain/pki/bundle.js';
import { testCaPem } from '../flows/fake-deps.js';

const KEY = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';
const META = { savedAt: '2026-12-08T01:00:00.000Z', savedBy: 'i-first' };

function files(): Record<PkiFile, string> {
  return Object.fromEntries(
    PKI_FILES.map((name) => [name, name.endsWith('.crt') ? testCaPem() : KEY]),
  ) as Record<PkiFile, string>;
}

describe('the cluster PKI bundle', () => {
  it('round-trips every file, and records when the earliest CA expires', () => {
    const bundle = pkiBundle(files(), META);
    const again = parsePkiBundle(serializePkiBundle(bundle).reveal(), 'secret kboot/prod/pki');
    assert.deepEqual(again.files.reveal(), files());
    assert.equal(again.savedBy, 'i-first');
    assert.match(again.caExpiresAt, /^\d{4}-\d\d-\d\dT/);
    assert.ok(Date.parse(again.caExpiresAt) > Date.parse(META.savedAt));
  });

  it('never shows a key when logged or turned to JSON', () => {
    const bundle = pkiBundle(files(), META);
    assert.doesNotMatch(JSON.stringify(bundle), /PRIVATE KEY/);
    assert.doesNotMatch(inspect(bundle, { depth: 5 }), /PRIVATE KEY/);
    assert.doesNotMatch(String(serializePkiBundle(bundle)), /PRIVATE KEY/);
  });

  for (const missing of ['ca.key', 'etcd/ca.crt', 'sa.pub'] as const) {
    it(`refuses a bundle without ${missing}, naming the file`, () => {
      const some: Partial<Record<PkiFile, string>> = files();
      delete some[missing];
      assert.throws(
        () => pkiBundle(some, META),
        (error: Error) =>
          error instanceof StateConflictError && error.message.includes(`pki/${missing} is missing`),
      );
    });
  }

  it('refuses a CA that is not a certificate', () => {
    assert.throws(
      () => pkiBundle({ ...files(), 'front-proxy-ca.crt': KEY }, META),
      /front-proxy-ca.crt is not a PEM certificate/,
    );
  });

  const malformed: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    [
      'a file missing',
      JSON.stringify({ ...serialized(), files: { ...files(), 'sa.key': undefined } }),
      /files\.sa\.key/,
    ],
    ['an unknown field', JSON.stringify({ ...serialized(), extra: 1 }), /extra|Unrecognized/],
    [
      'a file that is not PEM',
      JSON.stringify({ ...serialized(), files: { ...files(), 'ca.key': 'hunter2' } }),
      /files\.ca\.key: expected a PEM block/,
    ],
    ['a newer schema', JSON.stringify({ ...serialized(), schemaVersion: 2 }), /schemaVersion/],
  ];
  for (const [what, text, problem] of malformed) {
    it(`refuses a secret with ${what}, naming the field and never a value`, () => {
      assert.throws(
        () => parsePkiBundle(text, 'secret kboot/prod/pki'),
        (error: Error) =>
          error instanceof StateConflictError &&
          problem.test(error.message) &&
          error.message.startsWith('secret kboot/prod/pki is not a cluster PKI bundle') &&
          !error.message.includes('hunter2') &&
          !error.message.includes('PRIVATE KEY'),
      );
    });
  }
});

function serialized(): Record<string, unknown> {
  return JSON.parse(serializePkiBundle(pkiBundle(files(), META)).reveal()) as Record<string, unknown>;
}
