import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, UsageError } from '../../../../src/core/errors.js';
import { adminConfVersion } from '../../../../src/domain/kubeconfig/version.js';
import { type ClusterRecord, newClusterRecord } from '../../../../src/domain/state/cluster-record.js';

const PLACE = { cluster: 'prod', table: 'kboot-state', region: 'eu-west-1' };

function record(extra: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    ...newClusterRecord(
      {
        clusterName: 'prod',
        region: 'eu-west-1',
        apiEndpoint: 'api.prod.example.com',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.96.0.0/12',
        kubernetesVersion: '1.31.2',
        createdBy: 'test',
        createdAt: '2026-12-01T10:00:00.000Z',
      },
      'kboot-state',
    ),
    ...extra,
  };
}

const initialized = { by: 'i-0123456789abcdef0', at: '2026-12-01T10:05:00.000Z', fence: 2 };
const stamp = {
  updatedAt: '2026-12-01T10:05:00.000Z',
  tokenExpiresAt: '2026-12-02T10:05:00.000Z',
};

describe('adminConfVersion', () => {
  it('takes the admin.conf version the record names', () => {
    const version = adminConfVersion(
      record({
        initialized,
        joinMaterial: { ...stamp, versions: { join: 'v-join', adminConf: 'v-admin' } },
      }),
      PLACE,
    );
    assert.deepEqual(version, { versionId: 'v-admin' });
  });

  it('reads AWSCURRENT (no VersionId) for a record that names no admin.conf version', () => {
    for (const joinMaterial of [undefined, stamp, { ...stamp, versions: { join: 'v-join' } }]) {
      assert.deepEqual(adminConfVersion(record({ initialized, joinMaterial }), PLACE), {
        versionId: undefined,
      });
    }
  });

  it('refuses a cluster without a record, naming the table and region', () => {
    assert.throws(
      () => adminConfVersion(undefined, PLACE),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.exitCode, ExitCode.usage);
        assert.equal(
          error.message,
          'cluster "prod" is not initialized: no cluster record in DynamoDB table kboot-state (region eu-west-1)',
        );
        assert.match(error.hint ?? '', /--cluster, --region and --table/);
        return true;
      },
    );
  });

  it('refuses a cluster whose record is not initialized, even when it names versions', () => {
    // A master that published, then failed or lost its lease before marking the cluster
    // initialized: its admin.conf belongs to a kubeadm init that was reset.
    assert.throws(
      () =>
        adminConfVersion(record({ joinMaterial: { ...stamp, versions: { adminConf: 'v-admin' } } }), PLACE),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^cluster "prod" is not initialized yet \(DynamoDB table kboot-state/);
        assert.match(error.hint ?? '', /kboot status --cluster prod/);
        return true;
      },
    );
  });
});
