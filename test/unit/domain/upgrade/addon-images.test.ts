/** The addon images `kubeadm upgrade apply` sets for a version, and kboot's cloud-controller-manager. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBERNETES_MINORS } from '../../../../src/domain/kubeadm/versions.js';
import {
  COREDNS_VERSIONS,
  cloudControllerTargetImage,
  coreDnsImage,
  coreDnsVersion,
  kubeProxyImage,
} from '../../../../src/domain/upgrade/addon-images.js';

describe('addon images for a Kubernetes version', () => {
  it('knows kubeadm’s CoreDNS for every minor of the versions table but the newest, 1.37', () => {
    const missing = KUBERNETES_MINORS.map((entry) => entry.minor).filter(
      (minor) => !(minor in COREDNS_VERSIONS),
    );
    assert.deepEqual(
      missing,
      ['1.37'],
      'a new minor needs its CoreDNS version (kubeadm constants.go) or a decision',
    );
    assert.equal(coreDnsVersion('v1.31.2'), 'v1.11.3');
    assert.equal(coreDnsVersion('1.33.0'), 'v1.12.0');
    assert.equal(coreDnsVersion('v1.35.9'), 'v1.13.1');
    assert.equal(coreDnsVersion('v1.37.1'), undefined);
  });

  it('CoreDNS: registry.k8s.io/coredns/coredns by default, <repository>/coredns for a mirror, dns overrides first', () => {
    assert.equal(coreDnsImage({}, 'v1.32.9'), 'registry.k8s.io/coredns/coredns:v1.11.3');
    assert.equal(
      coreDnsImage({ imageRepository: 'registry.k8s.io' }, 'v1.34.0'),
      'registry.k8s.io/coredns/coredns:v1.12.1',
    );
    assert.equal(
      coreDnsImage({ imageRepository: 'mirror.example.com/k8s' }, 'v1.32.9'),
      'mirror.example.com/k8s/coredns:v1.11.3',
    );
    assert.equal(
      coreDnsImage(
        {
          imageRepository: 'mirror.example.com/k8s',
          dns: { imageRepository: 'dns.example.com', imageTag: 'v9.9.9' },
        },
        'v1.32.9',
      ),
      'dns.example.com/coredns:v9.9.9',
    );
    assert.equal(coreDnsImage({}, 'v1.37.1'), undefined, 'unknown minor: CoreDNS is left as it is');
    assert.equal(
      coreDnsImage({ dns: { imageTag: 'v1.14.0' } }, 'v1.37.1'),
      'registry.k8s.io/coredns/coredns:v1.14.0',
    );
  });

  it('kube-proxy: <repository>/kube-proxy:<version>, v added, + made _', () => {
    assert.equal(kubeProxyImage({}, '1.32.9'), 'registry.k8s.io/kube-proxy:v1.32.9');
    assert.equal(
      kubeProxyImage({ imageRepository: 'mirror.example.com' }, 'v1.32.0'),
      'mirror.example.com/kube-proxy:v1.32.0',
    );
    assert.equal(kubeProxyImage({}, 'v1.32.0+build.1'), 'registry.k8s.io/kube-proxy:v1.32.0_build.1');
    assert.throws(() => kubeProxyImage({}, 'latest'), /"latest" is not a Kubernetes version/);
  });

  it('the cloud-controller-manager of the target minor, or the cluster’s override', () => {
    assert.equal(
      cloudControllerTargetImage('v1.32.9'),
      'registry.k8s.io/provider-aws/cloud-controller-manager:v1.32.4',
    );
    assert.equal(
      cloudControllerTargetImage('v1.32.9', 'mirror.example.com/ccm:v1'),
      'mirror.example.com/ccm:v1',
    );
    assert.throws(
      () => cloudControllerTargetImage('v1.29.3'),
      /no AWS cloud-controller-manager image for Kubernetes 1\.29/,
    );
  });
});
