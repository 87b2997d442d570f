/**
 * The Cilium release kboot renders: pinned by digest, within Cilium's maintained lines, tested
 * by Cilium on the Kubernetes minors kboot supports, and with the RBAC its operator needs since
 * chart 1.19.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CILIUM_IMAGE,
  CILIUM_OPERATOR_IMAGE,
  CILIUM_TESTED_KUBERNETES_MINORS,
  CILIUM_VERSION,
  ciliumObjects,
} from '../../../../src/domain/addons/cilium.js';
import { supportedMinors } from '../../../../src/domain/kubeadm/versions.js';

const TODAY_MS = Date.parse('2026-12-07T12:00:00Z');

describe('the Cilium release', () => {
  it('pins both images by tag and digest of the one version', () => {
    for (const [image, repository] of [
      [CILIUM_IMAGE, 'quay.io/cilium/cilium'],
      [CILIUM_OPERATOR_IMAGE, 'quay.io/cilium/operator-generic'],
    ] as const) {
      assert.match(
        image,
        new RegExp(`^${repository}:${CILIUM_VERSION.replaceAll('.', '\\.')}@sha256:[0-9a-f]{64}$`),
      );
    }
  });

  it('is on a maintained line (1.18–1.20 in late 2026; 1.17 is out of support)', () => {
    const [major, minor] = CILIUM_VERSION.slice(1).split('.').map(Number) as [number, number];
    assert.ok(major === 1 && minor >= 18, CILIUM_VERSION);
  });

  it('is e2e-tested by Cilium on every supported Kubernetes minor but the newest', () => {
    const supported = supportedMinors(TODAY_MS).map((entry) => entry.minor);
    const untested = supported.filter((minor) => !CILIUM_TESTED_KUBERNETES_MINORS.includes(minor));
    // 1.37 is newer than Cilium 1.20's tested range (docs/building.md says so); nothing older is.
    assert.deepEqual(untested, ['1.37']);
  });

  it("grants the operator the ztunnel DaemonSet in kube-system only, and update of Cilium's own CRDs only", () => {
    const objects = ciliumObjects({ podCidr: '10.244.0.0/16', kubernetesVersion: '1.37.1' });
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'cilium-operator-ztunnel');
    assert.equal(role?.metadata.namespace, 'kube-system');
    const binding = objects.find(
      (o) => o.kind === 'RoleBinding' && o.metadata.name === 'cilium-operator-ztunnel',
    );
    assert.deepEqual((binding as { subjects?: unknown }).subjects, [
      { kind: 'ServiceAccount', name: 'cilium-operator', namespace: 'kube-system' },
    ]);
    const operator = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'cilium-operator') as
      | { rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] }
      | undefined;
    const crdUpdate = operator?.rules.find(
      (r) => r.apiGroups.includes('apiextensions.k8s.io') && r.verbs.includes('update'),
    );
    assert.ok(crdUpdate?.resourceNames?.includes('ciliumgatewayclassconfigs.cilium.io'));
    assert.ok(crdUpdate?.resourceNames?.every((name) => name.endsWith('.cilium.io')));
  });
});
