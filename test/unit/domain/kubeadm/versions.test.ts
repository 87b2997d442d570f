/**
 * The table of Kubernetes minors (src/domain/kubeadm/versions.ts): well-formed, consistent with
 * the renderers, and every supported minor renders (kubeadm config, addons).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { Secret } from '../../../../src/core/secrets.js';
import { cloudControllerImage } from '../../../../src/domain/addons/cloud-controller.js';
import { planAddons } from '../../../../src/domain/addons/plan.js';
import { renderInitConfig, renderJoinConfig } from '../../../../src/domain/kubeadm/render.js';
import { kubeadmConfigApiVersion, parseKubernetesVersion } from '../../../../src/domain/kubeadm/version.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  endOfLifeWarning,
  KUBERNETES_MINORS,
  newestMinor,
  supportedMinors,
} from '../../../../src/domain/kubeadm/versions.js';

const TODAY_MS = Date.parse('2026-12-07T12:00:00Z');

describe('the Kubernetes minors kboot knows', () => {
  it('are consecutive, oldest first, each with a patch, an image and an end of life of its own', () => {
    for (const [index, entry] of KUBERNETES_MINORS.entries()) {
      const version = parseKubernetesVersion(entry.newestPatch, 'newestPatch');
      assert.equal(
        `${version.major}.${version.minor}`,
        entry.minor,
        `${entry.newestPatch} is a ${entry.minor} release`,
      );
      assert.match(
        entry.cloudControllerImage,
        new RegExp(`:v${entry.minor.replace('.', '\\.')}\\.\\d+$`),
        'CCM of the same line',
      );
      assert.match(entry.endOfLife, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(entry.kubeadmApi, kubeadmConfigApiVersion(version), 'the API the renderer writes');
      const previous = KUBERNETES_MINORS[index - 1];
      if (previous !== undefined) {
        assert.equal(Number(entry.minor.split('.')[1]), Number(previous.minor.split('.')[1]) + 1);
        assert.ok(entry.endOfLife > previous.endOfLife, 'end of life in release order');
      }
    }
  });

  it('supports 1.35, 1.36 and 1.37 on 2026-12-07 and defaults to the newest release', () => {
    assert.deepEqual(
      supportedMinors(TODAY_MS).map((entry) => entry.minor),
      ['1.35', '1.36', '1.37'],
    );
    assert.equal(newestMinor().minor, '1.37');
    assert.equal(DEFAULT_KUBERNETES_VERSION, '1.37.1');
    // A minor is supported through its end-of-life day.
    assert.ok(supportedMinors(Date.parse('2027-02-28T23:00:00Z')).some((entry) => entry.minor === '1.35'));
    assert.ok(!supportedMinors(Date.parse('2027-03-01T00:00:00Z')).some((entry) => entry.minor === '1.35'));
  });

  for (const entry of KUBERNETES_MINORS) {
    it(`renders kubeadm config and addons for ${entry.newestPatch}`, () => {
      const version = `v${entry.newestPatch}`;
      const init = renderInitConfig({
        apiVersion: entry.kubeadmApi,
        clusterName: 'demo',
        kubernetesVersion: version,
        controlPlaneEndpoint: 'demo.example.com:6443',
        advertiseAddress: '10.0.1.10',
        nodeName: 'ip-10-0-1-10.ec2.internal',
        podSubnet: '10.244.0.0/16',
        serviceSubnet: '10.96.0.0/12',
        bootstrapTokens: [{ token: new Secret('abcdef.0123456789abcdef'), ttlMs: 3_600_000 }],
        certificateKey: new Secret('0'.repeat(64)),
      } as Parameters<typeof renderInitConfig>[0]);
      const documents = parseAllDocuments(init).map((doc) => doc.toJS() as Record<string, unknown>);
      assert.ok(
        documents.some((doc) => doc.apiVersion === entry.kubeadmApi && doc.kind === 'ClusterConfiguration'),
      );
      assert.ok(documents.some((doc) => doc.kubernetesVersion === version));
      const join = renderJoinConfig({
        apiVersion: entry.kubeadmApi,
        nodeName: 'ip-10-0-1-11.ec2.internal',
        discovery: {
          apiServerEndpoint: 'demo.example.com:6443',
          token: new Secret('abcdef.0123456789abcdef'),
          caCertHashes: [`sha256:${'a'.repeat(64)}`],
        },
      } as Parameters<typeof renderJoinConfig>[0]);
      assert.match(join, new RegExp(`apiVersion: ${entry.kubeadmApi.replace('.', '\\.')}`));

      assert.equal(cloudControllerImage(version), entry.cloudControllerImage);
      const addons = planAddons({
        clusterName: 'demo',
        podCidr: '10.244.0.0/16',
        kubernetesVersion: version,
        addons: { cni: 'cilium', cloudController: true },
        manifestsDir: { path: '/etc/kboot/addons.d', files: [] },
      } as Parameters<typeof planAddons>[0]);
      const text = addons.map((addon) => addon.manifest).join('\n---\n');
      assert.ok(text.includes(`image: ${entry.cloudControllerImage}`));
      assert.ok(text.includes(`cilium:${entry.cilium}`));
    });
  }
});

describe('end-of-life warnings', () => {
  it('say nothing about a supported minor, or one newer than kboot knows', () => {
    for (const version of ['1.35.0', 'v1.36.4', '1.37', '1.38.0', 'not a version']) {
      assert.equal(endOfLifeWarning(version, TODAY_MS), undefined, version);
    }
  });

  it('name the next minor and the oldest supported one for a minor past its end of life', () => {
    const warning = endOfLifeWarning('1.31.2', TODAY_MS);
    assert.ok(warning);
    assert.equal(warning.minor, '1.31');
    assert.equal(warning.endOfLife, '2025-10-28');
    assert.equal(warning.nextMinor, '1.32');
    assert.equal(warning.supportedMinor, '1.35');
    assert.match(warning.message, /Kubernetes 1\.31 reached its end of life on 2025-10-28/);
    assert.match(warning.message, /one minor at a time \(next: 1\.32\) to at least 1\.35 \(1\.35\.9\)/);

    const lastOne = endOfLifeWarning('v1.34.9', TODAY_MS);
    assert.match(lastOne?.message ?? '', /upgrade to 1\.35 \(1\.35\.9\)/);
    assert.match(endOfLifeWarning('1.27.3', TODAY_MS)?.message ?? '', /before any release kboot knows/);
  });
});
