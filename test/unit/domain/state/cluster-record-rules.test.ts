/**
 * The cluster record rule by rule: every field two masters must agree on, the API endpoint's
 * port range, versions and endpoints that are refused, what a malformed record's message says
 * about each value, the fields a parse keeps, and the details its errors carry.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import {
  type ClusterRecord,
  newClusterRecord,
  parseClusterRecord,
  recordDifferences,
} from '../../../../src/domain/state/cluster-record.js';
import { rawRecord, sampleRecord } from './records.js';

const SOURCE = { cluster: 'prod', table: 'kboot' };

function refusal(raw: unknown): StateConflictError {
  try {
    parseClusterRecord(raw, SOURCE);
  } catch (error) {
    assert.ok(error instanceof StateConflictError, String(error));
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('recordDifferences', () => {
  const base = sampleRecord({
    externalDns: 'api.prod.example.org',
    kmsKeyId: 'alias/prod',
    addons: { cni: 'cilium', cloudController: true },
  });
  const cases: [string, Partial<ClusterRecord>][] = [
    ['region', { region: 'us-east-1' }],
    ['apiEndpoint', { apiEndpoint: 'api.other.example.com' }],
    ['apiEndpoint', { apiEndpoint: 'api.prod.example.com:8443' }],
    ['podCidr', { podCidr: '10.32.0.0/16' }],
    ['serviceCidr', { serviceCidr: '10.100.0.0/16' }],
    ['kubernetesVersion', { kubernetesVersion: '1.31.3' }],
    ['kubernetesVersion', { kubernetesVersion: '1.31.2-de' }],
    ['externalDns', { externalDns: 'api.prod.example.net' }],
    ['secrets.join', { secrets: { ...base.secrets, join: 'other/join' } }],
    ['secrets.controlPlane', { secrets: { ...base.secrets, controlPlane: 'other/cp' } }],
    ['secrets.adminConf', { secrets: { ...base.secrets, adminConf: 'other/admin' } }],
    ['kmsKeyId', { kmsKeyId: 'alias/other' }],
    ['addons', { addons: { cni: 'none', cloudController: true } }],
    ['addons', { addons: { cni: 'cilium', cloudController: false } }],
  ];
  for (const [field, change] of cases) {
    it(`names ${field} when it differs (${JSON.stringify(change).slice(0, 60)})`, () => {
      const existing =
        field === 'kubernetesVersion' && change.kubernetesVersion === '1.31.2-de'
          ? { ...base, kubernetesVersion: '1.31.2-dev' }
          : base;
      assert.deepEqual(recordDifferences(existing, { ...base, ...change }), [field]);
    });
  }
  it('the same endpoint with and without the default port, and a v before the version, are the same', () => {
    assert.deepEqual(
      recordDifferences(base, {
        ...base,
        apiEndpoint: 'api.prod.example.com:6443',
        kubernetesVersion: 'v1.31.2',
      }),
      [],
    );
  });
});

describe('parseClusterRecord', () => {
  it('keeps every field of a full record, and fills in default secret ids', () => {
    const full = rawRecord({
      externalDns: 'api.prod.example.org',
      kmsKeyId: 'alias/prod',
      secrets: { join: 'custom/join' },
      addons: { cni: 'cilium', cloudController: false },
      initialized: { by: 'i-first', at: '2025-01-01T00:03:00.000Z', fence: 2 },
      lastFailure: {
        by: 'i-second',
        at: '2025-01-01T00:02:00.000Z',
        step: 'kubeadm-init',
        message: 'exit 1',
      },
      joinMaterial: {
        updatedAt: '2025-01-01T00:03:00.000Z',
        tokenExpiresAt: '2025-01-02T00:03:00.000Z',
        certificateKeyExpiresAt: '2025-01-01T02:03:00.000Z',
        versions: { join: 'v-join', controlPlane: 'v-cp', adminConf: 'v-admin' },
      },
    });
    const parsed = parseClusterRecord(full, SOURCE);
    assert.deepEqual(parsed, {
      ...full,
      secrets: {
        join: 'custom/join',
        controlPlane: 'kboot/prod/control-plane',
        adminConf: 'kboot/prod/admin.conf',
      },
    });
  });

  it('accepts a one-letter host', () => {
    for (const apiEndpoint of ['a', 'a:6443', '[::1]:6443'])
      assert.equal(parseClusterRecord(rawRecord({ apiEndpoint }), SOURCE).apiEndpoint, apiEndpoint);
  });

  it('accepts API ports 1 and 65535, refuses 0 and 65536', () => {
    for (const port of [1, 65_535])
      parseClusterRecord(rawRecord({ apiEndpoint: `api.example.com:${port}` }), SOURCE);
    for (const port of [0, 65_536]) {
      assert.match(
        refusal(rawRecord({ apiEndpoint: `api.example.com:${port}` })).message,
        /field apiEndpoint: expected a host or host:port/,
      );
    }
  });

  it('refuses endpoints and versions with anything around them', () => {
    for (const apiEndpoint of [
      'https://api.example.com',
      'api.example.com/',
      ' api.example.com',
      '-api.example.com',
    ]) {
      assert.match(
        refusal(rawRecord({ apiEndpoint })).message,
        /field apiEndpoint: expected a host or host:port such as api.example.com:6443, got "/,
      );
    }
    for (const kubernetesVersion of [
      'v1.31.2 ',
      'x1.31.2',
      '1',
      '1.31.2.4',
      '1.31.2_rc',
      '1.31.2-',
      '1.31.2-$',
    ]) {
      assert.match(
        refusal(rawRecord({ kubernetesVersion })).message,
        /field kubernetesVersion: expected a version such as 1.31.2/,
        kubernetesVersion,
      );
    }
    for (const kubernetesVersion of ['v1.31', '1.31.2', '10.100.20', '1.31.2-rc.1', '1.31.2+k3s1'])
      parseClusterRecord(rawRecord({ kubernetesVersion }), SOURCE);
  });

  it('describes each kind of bad value', () => {
    const cases: [unknown, string][] = [
      [null, 'got null'],
      [['a'], 'got a list'],
      [7, 'got number 7'],
      [true, 'got boolean true'],
      [{ a: 1 }, 'got an object'],
    ];
    for (const [value, got] of cases) {
      const message = refusal(rawRecord({ region: value })).message;
      assert.ok(message.includes(`field region: expected string, ${got}`), `${message} / ${got}`);
    }
    for (const [value, got] of [
      ['x'.repeat(41), 'got a string'],
      ['x'.repeat(40), `got "${'x'.repeat(40)}"`],
    ]) {
      const message = refusal(rawRecord({ podCidr: value })).message;
      assert.ok(message.includes(`field podCidr: expected a CIDR such as 10.244.0.0/16, ${got}`), message);
    }
    assert.match(
      refusal(rawRecord({ region: '' })).message,
      /field region: expected a non-empty string, got ""/,
    );
    assert.match(
      refusal(rawRecord({ region: undefined })).message,
      /field region: expected string, got nothing \(the field is missing\)/,
    );
  });

  it('refuses what is not a record at all', () => {
    assert.match(
      refusal(null).message,
      /cluster record for "prod" in table kboot is malformed: field \(record\): expected object, got null/,
    );
  });

  it('takes only a whole number above its own as a newer schema', () => {
    assert.match(
      refusal(rawRecord({ schemaVersion: 2 })).message,
      /has schema version 2, newer than this kboot supports \(1\)/,
    );
    assert.deepEqual(refusal(rawRecord({ schemaVersion: 2 })).details, {
      cluster: 'prod',
      table: 'kboot',
      schemaVersion: 2,
    });
    for (const schemaVersion of [1.5, '2']) {
      const error = refusal(rawRecord({ schemaVersion }));
      assert.match(error.message, /is malformed: field schemaVersion/);
    }
  });

  it('names the fields of a malformed record in its details, and how to fix it in its hint', () => {
    const error = refusal(rawRecord({ podCidr: 'no', initialized: { by: 'i', at: 'later', fence: 1 } }));
    assert.deepEqual(error.details, {
      cluster: 'prod',
      table: 'kboot',
      fields: ['podCidr', 'initialized.at'],
    });
    assert.equal(
      error.hint,
      "fix or delete the item pk=cluster#prod, sk=meta in DynamoDB table kboot (it is written by 'kboot cluster create' or by the first master)",
    );
  });
});

describe('newClusterRecord', () => {
  it('keeps the secret ids it is given, defaulting the others', () => {
    const record = newClusterRecord(
      {
        clusterName: 'prod',
        region: 'eu-west-1',
        apiEndpoint: 'api.prod.example.com',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: '1.31.2',
        secrets: { adminConf: 'custom/admin' },
        createdBy: 'i-0aaa',
        createdAt: '2025-01-01T00:00:00.000Z',
      },
      'kboot',
    );
    assert.deepEqual(record.secrets, {
      join: 'kboot/prod/join',
      controlPlane: 'kboot/prod/control-plane',
      adminConf: 'custom/admin',
    });
  });
});
