/** The cluster record's `addons`: what binds every node of the cluster to the first master's choice. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateConflictError } from '../../../../src/core/errors.js';
import {
  newClusterRecord,
  parseClusterRecord,
  recordDifferences,
} from '../../../../src/domain/state/cluster-record.js';
import { clusterStatusView, renderClusterStatus } from '../../../../src/domain/state/status-view.js';
import { rawRecord, sampleRecord } from './records.js';

const SOURCE = { cluster: 'prod', table: 'kboot' };

describe('cluster record: addons', () => {
  it('reads a record with addons, and one of an earlier version without', () => {
    assert.deepEqual(
      parseClusterRecord(rawRecord({ addons: { cni: 'cilium', cloudController: true } }), SOURCE).addons,
      {
        cni: 'cilium',
        cloudController: true,
      },
    );
    assert.equal(parseClusterRecord(rawRecord(), SOURCE).addons, undefined);
  });

  it('refuses a malformed addons field, naming it', () => {
    assert.throws(
      () => parseClusterRecord(rawRecord({ addons: { cni: 'calico', cloudController: true } }), SOURCE),
      (e: unknown) => e instanceof StateConflictError && /field addons\.cni/.test(e.message),
    );
    assert.throws(
      () => parseClusterRecord(rawRecord({ addons: { cni: 'none' } }), SOURCE),
      (e: unknown) => e instanceof StateConflictError && /field addons\.cloudController/.test(e.message),
    );
  });

  it('writes addons into a new record', () => {
    const record = newClusterRecord(
      {
        clusterName: 'prod',
        region: 'eu-west-1',
        apiEndpoint: 'api.prod.example.com',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: '1.31.2',
        addons: { cni: 'none', cloudController: true },
        createdBy: 'i-1',
        createdAt: '2025-01-01T00:00:00.000Z',
      },
      'kboot',
    );
    assert.deepEqual(record.addons, { cni: 'none', cloudController: true });
  });

  it('reports two masters disagreeing on the addons', () => {
    const cilium = sampleRecord({ addons: { cni: 'cilium', cloudController: true } });
    assert.deepEqual(
      recordDifferences(cilium, sampleRecord({ addons: { cni: 'none', cloudController: true } })),
      ['addons'],
    );
    assert.deepEqual(
      recordDifferences(cilium, sampleRecord({ addons: { cni: 'cilium', cloudController: false } })),
      ['addons'],
    );
    assert.deepEqual(
      recordDifferences(cilium, sampleRecord({ addons: { cni: 'cilium', cloudController: true } })),
      [],
    );
    assert.deepEqual(recordDifferences(sampleRecord(), sampleRecord()), []);
  });

  it('kboot status shows the choice', () => {
    const NOW = Date.parse('2025-01-02T00:00:00.000Z');
    const view = clusterStatusView(
      {
        cluster: 'prod',
        record: sampleRecord({ addons: { cni: 'cilium', cloudController: true } }),
        recordError: undefined,
        locks: {},
        members: [],
      },
      'kboot',
      NOW,
    );
    assert.deepEqual(view.addons, { cni: 'cilium', cloudController: true });
    assert.match(renderClusterStatus(view, NOW), /\n {2}addons {19}CNI cilium, cloud controller on\n/);
  });
});
