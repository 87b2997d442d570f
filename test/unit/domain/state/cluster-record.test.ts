import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import {
  apiAddress,
  newClusterRecord,
  parseClusterRecord,
  recordDifferences,
} from '../../../../src/domain/state/cluster-record.js';
import { rawRecord, sampleRecord } from './records.js';

const SOURCE = { cluster: 'prod', table: 'kboot' };

describe('parseClusterRecord', () => {
  it('accepts a minimal record and fills the default secret ids', () => {
    const record = parseClusterRecord(rawRecord(), SOURCE);
    assert.deepEqual(record.secrets, {
      join: 'kboot/prod/join',
      controlPlane: 'kboot/prod/control-plane',
      adminConf: 'kboot/prod/admin.conf',
    });
    assert.equal(record.initialized, undefined);
  });

  it('keeps given secret ids, optional facts, and drops unknown fields', () => {
    const record = parseClusterRecord(
      rawRecord({
        secrets: { join: 'custom/join' },
        apiEndpoint: '[fd00::1]:443',
        initialized: { by: 'i-1', at: '2025-01-01T00:05:00.000Z', fence: 1 },
        joinMaterial: { updatedAt: '2025-01-01T00:05:00.000Z', tokenExpiresAt: '2025-01-02T00:05:00.000Z' },
        futureField: 'x',
      }),
      SOURCE,
    );
    assert.equal(record.secrets.join, 'custom/join');
    assert.equal(record.secrets.adminConf, 'kboot/prod/admin.conf');
    assert.equal(record.initialized?.fence, 1);
    assert.equal('futureField' in record, false);
  });

  it("reads the published admin.conf's stamped expiry, and refuses one that is not a time", () => {
    const material = { updatedAt: '2025-01-01T00:05:00.000Z', tokenExpiresAt: '2025-01-02T00:05:00.000Z' };
    const stamped = parseClusterRecord(
      rawRecord({ joinMaterial: { ...material, adminConfExpiresAt: '2026-01-01T00:00:00.000Z' } }),
      SOURCE,
    );
    assert.equal(stamped.joinMaterial?.adminConfExpiresAt, '2026-01-01T00:00:00.000Z');
    assert.throws(
      () =>
        parseClusterRecord(rawRecord({ joinMaterial: { ...material, adminConfExpiresAt: 'soon' } }), SOURCE),
      /field joinMaterial\.adminConfExpiresAt: expected an ISO 8601 UTC time/,
    );
  });

  const malformed: { name: string; raw: unknown; message: RegExp }[] = [
    {
      name: 'a number where a string belongs',
      raw: rawRecord({ podCidr: 42 }),
      message:
        /^cluster record for "prod" in table kboot is malformed: field podCidr: expected string, got number 42$/,
    },
    {
      name: 'a missing field',
      raw: rawRecord({ region: undefined }),
      message: /field region: expected string, got nothing \(the field is missing\)/,
    },
    {
      name: 'a bad CIDR',
      raw: rawRecord({ serviceCidr: '10.96.0.0' }),
      message: /field serviceCidr: expected a CIDR such as 10\.244\.0\.0\/16, got "10\.96\.0\.0"/,
    },
    {
      name: 'a bad endpoint port',
      raw: rawRecord({ apiEndpoint: 'api:99999' }),
      message: /field apiEndpoint: expected a host or host:port/,
    },
    {
      name: 'a bad time',
      raw: rawRecord({ createdAt: 'yesterday' }),
      message: /field createdAt: expected an ISO 8601 UTC time/,
    },
    {
      name: 'a nested field',
      raw: rawRecord({ initialized: { by: 'i-1', at: '2025-01-01T00:00:00.000Z', fence: 0 } }),
      message: /field initialized\.fence: /,
    },
    {
      name: 'several fields at once',
      raw: rawRecord({ podCidr: 1, kubernetesVersion: 'latest' }),
      message: /field podCidr: .*; field kubernetesVersion: expected a version/,
    },
    {
      name: 'a missing schema version',
      raw: rawRecord({ schemaVersion: undefined }),
      message: /field schemaVersion: expected 1, got nothing/,
    },
    {
      name: 'not an object',
      raw: 'hello',
      message: /is malformed: field \(record\): expected object, got "hello"/,
    },
    {
      name: 'another cluster',
      raw: rawRecord({ clusterName: 'dev' }),
      message: /field clusterName: expected "prod", got "dev"/,
    },
  ];
  for (const { name, raw, message } of malformed) {
    it(`names the bad field: ${name}`, () => {
      assert.throws(
        () => parseClusterRecord(raw, SOURCE),
        (error: unknown) => {
          assert.ok(error instanceof StateConflictError);
          assert.match(error.message, message);
          assert.match(error.hint ?? '', /pk=cluster#prod, sk=meta in DynamoDB table kboot/);
          return true;
        },
      );
    });
  }

  it('refuses a record from a newer kboot, telling the user to upgrade', () => {
    assert.throws(
      () => parseClusterRecord(rawRecord({ schemaVersion: 2, podCidr: { v6: 'x' } }), SOURCE),
      (error: unknown) => {
        assert.ok(error instanceof StateConflictError);
        assert.equal(
          error.message,
          'cluster record for "prod" in table kboot has schema version 2, newer than this kboot supports (1)',
        );
        assert.match(error.hint ?? '', /upgrade kboot/);
        return true;
      },
    );
  });
});

describe('newClusterRecord', () => {
  it('fills schema version and secret ids, and validates the inputs', () => {
    const record = newClusterRecord(
      {
        clusterName: 'prod',
        region: 'eu-west-1',
        apiEndpoint: 'lb.example.com:6443',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: 'v1.31.2',
        createdBy: 'i-1',
        createdAt: '2025-01-01T00:00:00.000Z',
        externalDns: undefined,
      },
      'kboot',
    );
    assert.equal(record.schemaVersion, 1);
    assert.equal(record.secrets.controlPlane, 'kboot/prod/control-plane');
    assert.equal('externalDns' in record, false);
    assert.throws(
      () => newClusterRecord({ ...sampleRecord(), podCidr: 'ten' }, 'kboot'),
      /field podCidr: expected a CIDR/,
    );
  });
});

describe('apiAddress', () => {
  for (const [endpoint, host, port] of [
    ['api.example.com', 'api.example.com', 6443],
    ['api.example.com:443', 'api.example.com', 443],
    ['10.0.0.5', '10.0.0.5', 6443],
    ['[fd00::1]:8443', '[fd00::1]', 8443],
  ] as const) {
    it(`${endpoint} → ${host} port ${port}`, () => assert.deepEqual(apiAddress(endpoint), { host, port }));
  }
});

describe('recordDifferences', () => {
  const cases: { name: string; proposed: Parameters<typeof sampleRecord>[0]; differences: string[] }[] = [
    { name: 'identical', proposed: {}, differences: [] },
    {
      name: 'only who and when differ',
      proposed: { createdBy: 'i-2', createdAt: '2025-02-02T00:00:00.000Z' },
      differences: [],
    },
    {
      name: 'default port written out',
      proposed: { apiEndpoint: 'api.prod.example.com:6443' },
      differences: [],
    },
    { name: 'leading v on the version', proposed: { kubernetesVersion: 'v1.31.2' }, differences: [] },
    { name: 'another pod CIDR', proposed: { podCidr: '192.168.0.0/16' }, differences: ['podCidr'] },
    {
      name: 'endpoint and version',
      proposed: { apiEndpoint: 'other:6443', kubernetesVersion: '1.32.0' },
      differences: ['apiEndpoint', 'kubernetesVersion'],
    },
    {
      name: 'a secret id',
      proposed: {
        secrets: { join: 'x', controlPlane: 'kboot/prod/control-plane', adminConf: 'kboot/prod/admin.conf' },
      },
      differences: ['secrets.join'],
    },
  ];
  for (const { name, proposed, differences } of cases) {
    it(name, () => assert.deepEqual(recordDifferences(sampleRecord(), sampleRecord(proposed)), differences));
  }
});
