import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import { type ClusterState, stateError } from '../../../../src/domain/state/cluster-store.js';
import {
  clusterStatusView,
  renderClusterStatus,
  roughDuration,
} from '../../../../src/domain/state/status-view.js';
import { sampleRecord } from './records.js';

const NOW = Date.parse('2025-01-02T00:00:00.000Z');

function state(overrides: Partial<ClusterState> = {}): ClusterState {
  return {
    cluster: 'prod',
    record: sampleRecord(),
    recordError: undefined,
    locks: {},
    members: [],
    ...overrides,
  };
}

describe('clusterStatusView', () => {
  it('shows lock states: never taken, released, held, expired', () => {
    const view = clusterStatusView(
      state({
        locks: {
          bootstrap: { fence: 1, releasedAtMs: NOW - 1000 },
          'control-plane-join': { owner: 'i-2', expiresAtMs: NOW + 90_000, fence: 3 },
        },
      }),
      'kboot',
      NOW,
    );
    assert.deepEqual(view.locks.bootstrap, {
      state: 'released',
      error: null,
      owner: null,
      fence: 1,
      expiresAt: null,
      expiresInMs: null,
    });
    assert.deepEqual(view.locks['control-plane-join'], {
      state: 'held',
      error: null,
      owner: 'i-2',
      fence: 3,
      expiresAt: '2025-01-02T00:01:30.000Z',
      expiresInMs: 90_000,
    });
    const never = clusterStatusView(state(), 'kboot', NOW);
    assert.equal(never.locks.bootstrap.state, 'free');
    const expired = clusterStatusView(
      state({ locks: { bootstrap: { owner: 'i-dead', expiresAtMs: NOW - 5000, fence: 2 } } }),
      'kboot',
      NOW,
    );
    assert.equal(expired.locks.bootstrap.state, 'expired');
    assert.equal(expired.locks.bootstrap.expiresInMs, -5000);
  });

  it('computes join material age and expiries, with the default port on the endpoint', () => {
    const view = clusterStatusView(
      state({
        record: sampleRecord({
          joinMaterial: {
            updatedAt: '2025-01-01T22:00:00.000Z',
            tokenExpiresAt: '2025-01-02T22:00:00.000Z',
            certificateKeyExpiresAt: '2025-01-01T23:59:00.000Z',
          },
        }),
      }),
      'kboot',
      NOW,
    );
    assert.equal(view.apiEndpoint, 'api.prod.example.com:6443');
    assert.equal(view.joinMaterial?.ageMs, 2 * 3_600_000);
    assert.equal(view.joinMaterial?.tokenExpiresInMs, 22 * 3_600_000);
    assert.equal(view.joinMaterial?.certificateKeyExpiresInMs, -60_000);
    const text = renderClusterStatus(view, NOW);
    assert.match(
      text,
      /join material {12}updated 2h ago \(2025-01-01T22:00:00\.000Z\); token expires in 22h .*; certificate key EXPIRED 1m ago/,
    );
  });

  it("shows the published admin.conf's expiry where the record stamps it", () => {
    const view = clusterStatusView(
      state({
        record: sampleRecord({
          joinMaterial: {
            updatedAt: '2025-01-01T22:00:00.000Z',
            tokenExpiresAt: '2025-01-02T22:00:00.000Z',
            adminConfExpiresAt: '2025-12-01T00:00:00.000Z',
          },
        }),
      }),
      'kboot',
      NOW,
    );
    assert.equal(view.joinMaterial?.adminConfExpiresAt, '2025-12-01T00:00:00.000Z', 'in --output json');
    assert.match(
      renderClusterStatus(view, NOW),
      /; admin\.conf expires in 333d \(2025-12-01T00:00:00\.000Z\)/,
    );
    const unstamped = clusterStatusView(
      state({
        record: sampleRecord({
          joinMaterial: { updatedAt: '2025-01-01T22:00:00.000Z', tokenExpiresAt: '2025-01-02T22:00:00.000Z' },
        }),
      }),
      'kboot',
      NOW,
    );
    assert.equal(unstamped.joinMaterial?.adminConfExpiresAt, null);
    assert.doesNotMatch(renderClusterStatus(unstamped, NOW), /admin\.conf/);
  });

  it('renders a whole cluster as aligned text', () => {
    const view = clusterStatusView(
      state({
        record: sampleRecord({
          initialized: { by: 'i-first', at: '2025-01-01T23:00:00.000Z', fence: 1 },
          lastFailure: {
            by: 'i-x',
            at: '2025-01-01T22:50:00.000Z',
            step: 'kubeadm-init',
            message: 'exit status 1',
          },
        }),
        locks: {
          bootstrap: { fence: 1, releasedAtMs: NOW },
          'control-plane-join': { owner: 'i-2', expiresAtMs: NOW + 60_000, fence: 2 },
        },
        members: [
          { instanceId: 'i-first', role: 'control-plane', joinedAt: '2025-01-01T23:00:00.000Z', fence: 1 },
        ],
      }),
      'kboot',
      NOW,
    );
    assert.equal(
      renderClusterStatus(view, NOW),
      [
        'cluster prod (table kboot)',
        '  endpoint                 api.prod.example.com:6443',
        '  region                   eu-west-1',
        '  kubernetes               1.31.2',
        '  pod CIDR                 10.244.0.0/16',
        '  service CIDR             10.96.0.0/12',
        '  external DNS             -',
        '  addons                   - (not recorded: each node uses its node config)',
        '  created                  2025-01-01T00:00:00.000Z by i-0aaa',
        '  initialized              yes, by i-first 1h ago (2025-01-01T23:00:00.000Z, fence 1)',
        '  bootstrap lock           free (released, fence 1)',
        '  control-plane-join lock  held by i-2, fence 2, expires in 1m (2025-01-02T00:01:00.000Z)',
        '  rotate lock              free (never taken)',
        '  snapshot lock            free (never taken)',
        '  upgrade lock             free (never taken)',
        '  join material            none recorded',
        '  last failure             2025-01-01T22:50:00.000Z on i-x in step kubeadm-init: exit status 1',
        '  etcd snapshot            none recorded',
        '  members                  1',
        '                           i-first control-plane joined 2025-01-01T23:00:00.000Z (fence 1)',
      ].join('\n'),
    );
  });

  it("shows each member's certificate expiry as it reported it: in time, due for renewal, expired", () => {
    const DAY = 24 * 3_600_000;
    const member = (instanceId: string, expiresInMs: number) => ({
      instanceId,
      role: 'control-plane' as const,
      joinedAt: '2025-01-01T23:00:00.000Z',
      certificatesExpireAt: new Date(NOW + expiresInMs).toISOString(),
      certificatesCheckedAt: new Date(NOW - 600_000).toISOString(),
    });
    const view = clusterStatusView(
      state({ members: [member('i-a', 300 * DAY), member('i-b', 25 * DAY), member('i-c', -2 * DAY)] }),
      'kboot',
      NOW,
    );
    const lines = renderClusterStatus(view, NOW).split('\n');
    assert.ok(
      lines.includes(
        '                           i-a control-plane joined 2025-01-01T23:00:00.000Z; certificates expire in 300d (2025-10-29T00:00:00.000Z), checked 10m ago',
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((line) =>
        /i-b .*certificates expire in 25d \(.*\), renewal due, checked 10m ago$/.test(line),
      ),
    );
    assert.ok(lines.some((line) => /i-c .*certificates EXPIRED 2d ago/.test(line)));
    assert.equal(
      view.members[1]?.certificatesExpireAt,
      new Date(NOW + 25 * DAY).toISOString(),
      'in --output json',
    );
  });

  it('shows the snapshot a recovery restored the cluster from, and nothing for a cluster never restored', () => {
    const restoredFrom = {
      key: 'prod/etcd/2025-01-01T23:00:00.000Z-rev120.db',
      revision: 120,
      takenAt: '2025-01-01T23:00:00.000Z',
      restoredAt: '2025-01-01T23:55:00.000Z',
      by: 'i-new',
    };
    const view = clusterStatusView(
      state({
        record: sampleRecord({
          initialized: { by: 'i-new', at: '2025-01-01T23:55:00.000Z', fence: 5 },
          restoredFrom,
        }),
      }),
      'kboot',
      NOW,
    );
    assert.deepEqual(view.restoredFrom, restoredFrom);
    assert.match(
      renderClusterStatus(view, NOW),
      /^ {2}restored +restored from prod\/etcd\/2025-01-01T23:00:00\.000Z-rev120\.db \(revision 120, taken 2025-01-01T23:00:00\.000Z\) by i-new 5m ago$/m,
    );
    const never = clusterStatusView(state(), 'kboot', NOW);
    assert.equal(never.restoredFrom, null);
    assert.doesNotMatch(renderClusterStatus(never, NOW), /restored/);
  });

  it("shows each member's Kubernetes version where recorded (older members without one)", () => {
    const view = clusterStatusView(
      state({
        members: [
          { instanceId: 'i-old', role: 'control-plane', joinedAt: '2025-01-01T22:00:00.000Z' },
          {
            instanceId: 'i-new',
            role: 'control-plane',
            joinedAt: '2025-01-01T23:00:00.000Z',
            kubernetesVersion: 'v1.32.0',
          },
        ],
      }),
      'kboot',
      NOW,
    );
    const lines = renderClusterStatus(view, NOW).split('\n');
    assert.ok(
      lines.includes('                           i-old control-plane joined 2025-01-01T22:00:00.000Z'),
    );
    assert.ok(
      lines.includes(
        '                           i-new control-plane v1.32.0 joined 2025-01-01T23:00:00.000Z',
      ),
      lines.join('\n'),
    );
    assert.equal(view.members[1]?.kubernetesVersion, 'v1.32.0', 'in --output json');
  });

  it('shows an unreadable record with its error, and an absent one', () => {
    const unreadable = clusterStatusView(
      state({
        record: undefined,
        recordError: new StateConflictError(
          'cluster record for "prod" in table kboot is malformed: field podCidr: expected string, got number 1',
        ),
      }),
      'kboot',
      NOW,
    );
    assert.equal(unreadable.record, 'unreadable');
    assert.match(renderClusterStatus(unreadable, NOW), /record {19}unreadable: .*field podCidr/);
    const absent = clusterStatusView(state({ record: undefined }), 'kboot', NOW);
    assert.equal(absent.record, 'absent');
    assert.equal(absent.initialized, null);
    assert.match(renderClusterStatus(absent, NOW), /record {19}none yet/);
  });

  it('shows an unreadable lock item with its error beside the readable rest', () => {
    const error = new StateConflictError(
      'the bootstrap lease of cluster "prod" is malformed (fields: fence)',
    );
    const view = clusterStatusView(state({ lockErrors: { bootstrap: error } }), 'kboot', NOW);
    assert.deepEqual(view.locks.bootstrap, {
      state: 'unreadable',
      error: error.message,
      owner: null,
      fence: 0,
      expiresAt: null,
      expiresInMs: null,
    });
    assert.equal(view.record, 'present');
    const text = renderClusterStatus(view, NOW);
    assert.match(text, /bootstrap lock {11}unreadable: the bootstrap lease of cluster "prod" is malformed/);
    assert.match(text, /endpoint {17}\S+/);
    assert.equal(stateError(state({ lockErrors: { bootstrap: error } })), error);
    assert.equal(stateError(state()), undefined);
  });
});

describe('roughDuration', () => {
  for (const [durationMs, text] of [
    [199, '0s'],
    [59_400, '59s'],
    [599_000, '9m59s'],
    [3_601_000, '1h'],
    [82_799_000, '23h'],
    [(24 * 60 + 29) * 60_000, '1d'],
    [(24 * 60 + 31) * 60_000, '1d1h'],
  ] as const) {
    it(`${durationMs} ms → ${text}`, () => assert.equal(roughDuration(durationMs), text));
  }
});
