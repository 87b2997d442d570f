/**
 * The cluster-side adapters' paths a simulated cluster rarely shows: a replace that loses a race
 * (Conflict) is redone on a fresh read, a kubeadm-config kboot cannot read or an addon without its
 * container is a clear error, and a stop during the health gate is thrown, not turned into a line.
 */

import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { clusterSide } from '../../../../src/adapters/kubernetes/cluster-side.js';
import { ConfigError, KubectlError, StateConflictError } from '../../../../src/core/errors.js';
import type { KubectlRunner } from '../../../../src/domain/ports/kubectl.js';
import { tempDir } from '../../../support/paths.js';

const dir = tempDir('kboot-cluster-side-');
const adminConf = path.join(dir, 'admin.conf');
writeFileSync(adminConf, 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });

type Handler = (args: readonly string[], stdin: string | undefined) => string;

function runner(handler: Handler): KubectlRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(args, options) {
      calls.push([...args]);
      if (options.signal?.aborted) throw new KubectlError('kubectl get was stopped');
      return { stdout: handler(args, options.stdin), stderr: '' };
    },
  };
}

const kubeadmConfig = (version: string, resourceVersion: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubeadm-config', namespace: 'kube-system', resourceVersion },
    data: {
      ClusterConfiguration: `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n# kept\nkubernetesVersion: ${version}\nclusterName: demo\n`,
    },
  });
const kubeletConfig = JSON.stringify({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kubelet-config', resourceVersion: '1' },
  data: { kubelet: 'kind: KubeletConfiguration\n' },
});
const options = (kubectl: KubectlRunner, signal?: AbortSignal) => ({
  kubectl,
  kubeconfigPath: adminConf,
  apiEndpoint: 'lb.example.com',
  ...(signal === undefined ? {} : { signal }),
});

describe('cluster-side adapters', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an admin kubeconfig others can read, a missing one and a relative path, before kubectl runs', async () => {
    const kubectl = runner(() => 'ok');
    const loose = path.join(dir, 'loose.conf');
    writeFileSync(loose, 'apiVersion: v1\n');
    chmodSync(loose, 0o644);
    const cases: [string, RegExp][] = [
      [loose, /is readable by others \(mode 0644\)/],
      [path.join(dir, 'absent.conf'), /cannot read the admin kubeconfig .*absent\.conf \(ENOENT\)/],
      ['admin.conf', /is not absolute/],
    ];
    for (const [file, pattern] of cases) {
      await assert.rejects(
        clusterSide({ ...options(kubectl), kubeconfigPath: file }).health.check({
          controlPlaneNodes: [],
          readyNodes: [],
        }),
        (error: Error) => error instanceof ConfigError && pattern.test(error.message),
      );
    }
    assert.equal(kubectl.calls.length, 0);
  });

  it('redoes a replace that lost a race on a fresh read, keeping the document’s other lines', async () => {
    let reads = 0;
    const written: string[] = [];
    const kubectl = runner((args, stdin) => {
      if (args.includes('kubelet-config')) return kubeletConfig;
      if (args[0] === 'get') {
        reads += 1;
        return kubeadmConfig('v1.31.2', String(reads));
      }
      written.push(stdin as string);
      if (written.length === 1)
        throw new KubectlError(
          'kubectl replace exited 1: Error from server (Conflict): the object has been modified',
        );
      return '';
    });
    assert.deepEqual(await clusterSide(options(kubectl)).configuration.setKubernetesVersion('v1.32.0'), {
      changed: true,
    });
    assert.equal(written.length, 2);
    const second = JSON.parse(written[1] as string);
    assert.equal(second.metadata.resourceVersion, '2', 'written at the resourceVersion read again');
    assert.equal(
      second.data.ClusterConfiguration,
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n# kept\nkubernetesVersion: v1.32.0\nclusterName: demo\n',
    );
  });

  it('a kubeadm-config without a kubernetesVersion, or an addon without its container, is a clear error', async () => {
    const noVersion = runner(() =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config' }, data: {} }),
    );
    await assert.rejects(
      clusterSide(options(noVersion)).configuration.kubernetesVersion(),
      (error: Error) =>
        error instanceof StateConflictError &&
        /has no ClusterConfiguration with a kubernetesVersion/.test(error.message),
    );
    const renamed = runner((args) => {
      if (args.includes('kubeadm-config')) return kubeadmConfig('v1.32.0', '5');
      return JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', resourceVersion: '3' },
        spec: { template: { spec: { containers: [{ name: 'dns', image: 'x' }] } } },
      });
    });
    await assert.rejects(
      clusterSide(options(renamed)).addons.upgrade('v1.32.0'),
      (error: Error) =>
        error instanceof StateConflictError &&
        /deployment coredns has no container named coredns/.test(error.message),
    );
  });

  it('a stop during the gate is thrown, not reported as a failed check', async () => {
    const controller = new AbortController();
    const kubectl = runner((args) => {
      if (args.includes('/readyz')) {
        controller.abort();
        throw new KubectlError('kubectl get was stopped');
      }
      return '';
    });
    await assert.rejects(
      clusterSide(options(kubectl, controller.signal)).health.check({
        controlPlaneNodes: ['a'],
        readyNodes: [],
      }),
      KubectlError,
    );
    assert.deepEqual(kubectl.calls[0], [
      'get',
      '--raw',
      '/readyz',
      '--server',
      'https://lb.example.com:6443',
    ]);
  });
});
