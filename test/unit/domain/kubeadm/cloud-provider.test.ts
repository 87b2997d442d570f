/** The kubelet's cloud provider in kubeadm configs: external with the cloud controller, else none. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../../../src/core/secrets.js';
import { initDocuments, joinDocuments } from '../../../../src/domain/kubeadm/render.js';
import type { KubeadmArg } from '../../../../src/domain/kubeadm/types.js';
import {
  KUBEADM_API_V1BETA3,
  KUBEADM_API_V1BETA4,
  type KubeadmApiVersion,
} from '../../../../src/domain/kubeadm/version.js';

const TOKEN = new Secret('abcdef.0123456789abcdef');

function registration(
  apiVersion: KubeadmApiVersion,
  command: 'init' | 'join',
  cloudProvider: 'external' | 'none' | undefined,
  kubeletExtraArgs?: KubeadmArg[],
): Record<string, unknown> {
  const node = {
    apiVersion,
    nodeName: 'ip-10-0-1-10.ec2.internal',
    ...(cloudProvider === undefined ? {} : { cloudProvider }),
    ...(kubeletExtraArgs === undefined ? {} : { kubeletExtraArgs }),
  };
  const [first] =
    command === 'init'
      ? initDocuments({
          ...node,
          clusterName: 'demo',
          kubernetesVersion: '1.31.2',
          controlPlaneEndpoint: 'lb.example.com:6443',
          advertiseAddress: '10.0.1.10',
          podSubnet: '10.244.0.0/16',
          serviceSubnet: '10.96.0.0/12',
        })
      : joinDocuments({
          ...node,
          discovery: {
            apiServerEndpoint: 'lb.example.com:6443',
            token: TOKEN,
            caCertHashes: [`sha256:${'ab'.repeat(32)}`],
          },
        });
  return first?.nodeRegistration as Record<string, unknown>;
}

describe('kubelet cloud provider', () => {
  const labels: KubeadmArg[] = [{ name: 'node-labels', value: 'team=a' }];
  const cases: [
    KubeadmApiVersion,
    'init' | 'join',
    'external' | 'none' | undefined,
    KubeadmArg[] | undefined,
    unknown,
  ][] = [
    [KUBEADM_API_V1BETA4, 'init', 'external', undefined, [{ name: 'cloud-provider', value: 'external' }]],
    [KUBEADM_API_V1BETA4, 'join', undefined, undefined, [{ name: 'cloud-provider', value: 'external' }]],
    [
      KUBEADM_API_V1BETA3,
      'join',
      'external',
      labels,
      { 'cloud-provider': 'external', 'node-labels': 'team=a' },
    ],
    [KUBEADM_API_V1BETA4, 'init', 'none', undefined, undefined],
    [KUBEADM_API_V1BETA3, 'join', 'none', undefined, undefined],
    [KUBEADM_API_V1BETA4, 'join', 'none', labels, [{ name: 'node-labels', value: 'team=a' }]],
    [KUBEADM_API_V1BETA3, 'init', 'none', labels, { 'node-labels': 'team=a' }],
  ];
  for (const [apiVersion, command, cloudProvider, extra, expected] of cases) {
    it(`${apiVersion.split('/')[1]} ${command}, cloud provider ${cloudProvider ?? '(default)'}${extra ? ', with labels' : ''}`, () => {
      const node = registration(apiVersion, command, cloudProvider, extra);
      assert.deepEqual(node.kubeletExtraArgs, expected);
      assert.equal('kubeletExtraArgs' in node, expected !== undefined, 'no empty kubeletExtraArgs');
    });
  }
});
