/** Sample records for state tests. */

import type { ClusterRecord } from '../../../../src/domain/state/cluster-record.js';

export function rawRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    clusterName: 'prod',
    region: 'eu-west-1',
    apiEndpoint: 'api.prod.example.com',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
    kubernetesVersion: '1.31.2',
    createdBy: 'i-0aaa',
    createdAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function sampleRecord(overrides: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    schemaVersion: 1,
    clusterName: 'prod',
    region: 'eu-west-1',
    apiEndpoint: 'api.prod.example.com',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
    kubernetesVersion: '1.31.2',
    createdBy: 'i-0aaa',
    createdAt: '2025-01-01T00:00:00.000Z',
    secrets: {
      join: 'kboot/prod/join',
      controlPlane: 'kboot/prod/control-plane',
      adminConf: 'kboot/prod/admin.conf',
    },
    ...overrides,
  };
}
