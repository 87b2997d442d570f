import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';
import { newClusterRecord } from '../../../../src/domain/state/cluster-record.js';

describe('node config', () => {
  it('accepts a full config', () => {
    const config = parseNodeConfig(
      `table: kboot-prod
apiEndpoint: api.prod.example.com:6443
podCidr: 10.244.0.0/16
serviceCidr: 10.96.0.0/12
kubernetesVersion: 1.31.2
certSANs: [api.prod.example.com]
timeouts: { waitForInit: 20m, lease: 10m, kubeadm: 15m }
kubeadm: { patchesDir: /etc/kboot/kubeadm-patches }
addons: { cni: cilium, cloudController: true, irsa: false }
backup: { bucket: prod-etcd-backups, intervalMinutes: 30, retention: { allForHours: 12, hourlyForDays: 3, dailyForDays: 90 } }
`,
      'config.yaml',
    );
    assert.equal(config.table, 'kboot-prod');
    assert.deepEqual(config.backup, {
      bucket: 'prod-etcd-backups',
      intervalMinutes: 30,
      retention: { allForHours: 12, hourlyForDays: 3, dailyForDays: 90 },
    });
    assert.equal(config.timeouts?.waitForInit, '20m');
  });

  it('accepts an empty file', () => {
    assert.deepEqual(parseNodeConfig('', 'config.yaml'), {});
  });

  const bad: [string, string, RegExp][] = [
    ['unknown top-level field', 'tabel: x\n', /unknown field tabel/],
    ['unknown nested field', 'timeouts: { wait: 1m }\n', /unknown field timeouts\.wait/],
    ['bad duration', 'timeouts: { lease: soon }\n', /field timeouts\.lease: expected a duration/],
    ['bad CIDR', 'podCidr: 10.244.0.0\n', /field podCidr: expected an IPv4 CIDR/],
    ['bad version', 'kubernetesVersion: latest\n', /field kubernetesVersion: expected a version/],
    ['bad enum', 'addons: { cni: flannel }\n', /field addons\.cni/],
    ['wrong type', 'certSANs: api.example.com\n', /field certSANs/],
    ['not YAML', 'table: [unclosed\n', /not valid YAML/],
    // What the cluster record refuses, config check refuses too (not the first master, later).
    ['an impossible pod CIDR', 'podCidr: 999.999.999.999/99\n', /field podCidr: expected a CIDR such as/],
    [
      'a service CIDR prefix over 32',
      'serviceCidr: 10.96.0.0/33\n',
      /field serviceCidr: expected a CIDR such as/,
    ],
    [
      'a port over 65535',
      'apiEndpoint: host:99999\n',
      /field apiEndpoint: expected a host or host:port such as/,
    ],
    ['port 0', 'apiEndpoint: host:0\n', /field apiEndpoint: expected a host or host:port such as/],
    ['an empty external DNS name', 'externalDns: ""\n', /field externalDns: expected a non-empty string/],
    ['duplicate key', 'table: a\ntable: b\n', /not valid YAML/],
    [
      'a backup bucket with capitals',
      'backup: { bucket: Prod }\n',
      /field backup\.bucket: expected an S3 bucket name/,
    ],
    [
      'a snapshot interval under 5 minutes',
      'backup: { intervalMinutes: 1 }\n',
      /field backup\.intervalMinutes: expected at least 5/,
    ],
    [
      'a negative retention',
      'backup: { retention: { dailyForDays: -1 } }\n',
      /field backup\.retention\.dailyForDays: expected 0 or more/,
    ],
    [
      'an unknown retention field',
      'backup: { retention: { weekly: 4 } }\n',
      /unknown field backup\.retention\.weekly/,
    ],
  ];
  for (const [label, text, message] of bad) {
    it(`rejects ${label}, naming the field`, () => {
      assert.throws(
        () => parseNodeConfig(text, '/etc/kboot/config.yaml'),
        (error: unknown) =>
          error instanceof ConfigError && message.test(error.message) && error.exitCode === 2,
      );
    });
  }

  it('reports every problem at once', () => {
    assert.throws(
      () => parseNodeConfig('tabel: x\npodCidr: nope\n', 'c.yaml'),
      /field podCidr: expected an IPv4 CIDR.*; unknown field tabel/,
    );
  });

  it('refuses exactly what the cluster record refuses for the fields it shares', () => {
    const record = {
      clusterName: 'prod',
      region: 'eu-west-1',
      apiEndpoint: 'api.example.com:6443',
      podCidr: '10.244.0.0/16',
      serviceCidr: '10.96.0.0/12',
      kubernetesVersion: '1.31.2',
      createdBy: 'i-1',
      createdAt: '2025-01-31T12:00:00.000Z',
    };
    for (const [field, value] of [
      ['podCidr', '999.999.999.999/99'],
      ['apiEndpoint', 'host:99999'],
    ] as const) {
      assert.throws(() => newClusterRecord({ ...record, [field]: value }, 'kboot'), /is malformed/);
      assert.throws(() => parseNodeConfig(`${field}: "${value}"\n`, 'c.yaml'), ConfigError);
    }
    assert.doesNotThrow(() => newClusterRecord(record, 'kboot'));
    assert.doesNotThrow(() =>
      parseNodeConfig('podCidr: 10.244.0.0/16\napiEndpoint: api.example.com:6443\n', 'c.yaml'),
    );
  });
});
