import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IncompatibleError, KubeadmError } from '../../../../src/core/errors.js';
import {
  assertVersionSkew,
  formatKubeVersion,
  KUBEADM_API_V1BETA3,
  KUBEADM_API_V1BETA4,
  kubeadmConfigApiVersion,
  parseKubeadmVersionOutput,
  parseKubernetesVersion,
  type SkewAction,
  tryParseKubeVersion,
  versionSkewProblem,
} from '../../../../src/domain/kubeadm/version.js';

const v = (text: string) => parseKubernetesVersion(text, 'test');

describe('parsing versions', () => {
  const table: [string, string | undefined][] = [
    ['v1.31.2', 'v1.31.2'],
    ['1.31.2', 'v1.31.2'],
    ['v1.32.0-rc.1', 'v1.32.0-rc.1'],
    ['v1.31.2+build.7', 'v1.31.2'],
    ['1.31', 'v1.31'],
    ['  v1.30.6\n', 'v1.30.6'],
    ['v1', undefined],
    ['1.31.x', undefined],
    ['latest', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${expected ?? 'rejected'}`, () => {
      const parsed = tryParseKubeVersion(text);
      assert.equal(parsed === undefined ? undefined : formatKubeVersion(parsed), expected);
    });
  }

  it('reads `kubeadm version -o short` output', () => {
    assert.deepEqual(parseKubeadmVersionOutput('v1.31.2\n'), {
      major: 1,
      minor: 31,
      patch: 2,
      preRelease: undefined,
    });
  });

  it('rejects kubeadm output without a full version, as a kubeadm problem', () => {
    assert.throws(() => parseKubeadmVersionOutput('kubeadm version: &version.Info{Major:"1"}'), KubeadmError);
    assert.throws(() => parseKubeadmVersionOutput('v1.31'), KubeadmError);
  });
});

describe('choosing the kubeadm config API', () => {
  const table: [string, string | 'refused'][] = [
    ['v1.35.0', KUBEADM_API_V1BETA4],
    ['v1.31.0', KUBEADM_API_V1BETA4],
    ['v1.31.0-rc.1', KUBEADM_API_V1BETA4],
    ['v1.30.14', KUBEADM_API_V1BETA3],
    ['v1.22.0', KUBEADM_API_V1BETA3],
    ['v1.21.14', 'refused'],
    ['v1.15.0', 'refused'],
    ['v2.0.0', 'refused'],
    ['v0.31.0', 'refused'],
  ];
  for (const [kubeadm, expected] of table) {
    it(`kubeadm ${kubeadm} → ${expected}`, () => {
      if (expected === 'refused') {
        assert.throws(
          () => kubeadmConfigApiVersion(v(kubeadm)),
          (error: unknown) => {
            assert.ok(error instanceof IncompatibleError);
            assert.match(
              error.message,
              new RegExp(`kubeadm ${kubeadm.replace(/\./g, '\\.')} is not supported`),
            );
            assert.match(error.hint ?? '', /AMI with kubeadm 1\.22 or newer/);
            return true;
          },
        );
      } else {
        assert.equal(kubeadmConfigApiVersion(v(kubeadm)), expected);
      }
    });
  }
});

describe('version skew between this kubeadm and the cluster', () => {
  // [action, kubeadm, cluster, allowed]
  const table: [SkewAction, string, string, boolean][] = [
    ['join-worker', 'v1.31.2', 'v1.31.2', true],
    ['join-worker', 'v1.31.5', 'v1.31.2', true],
    ['join-worker', 'v1.31.0', 'v1.31.9', true],
    ['join-worker', 'v1.31.2', '1.31', true],
    ['join-worker', 'v1.32.0', 'v1.31.2', false],
    ['join-worker', 'v1.30.6', 'v1.31.2', false],
    ['join-worker', 'v1.28.0', 'v1.31.2', false],
    ['join-control-plane', 'v1.31.2', 'v1.31.4', true],
    ['join-control-plane', 'v1.32.1', 'v1.31.4', false],
    ['join-control-plane', 'v1.30.1', 'v1.31.4', false],
    ['init', 'v1.31.2', 'v1.31.7', true],
    ['init', 'v1.31.2', 'v1.30.6', false],
    ['init', 'v1.31.2', 'v1.32.0', false],
    ['join-worker', 'v2.31.0', 'v1.31.0', false],
  ];
  for (const [action, kubeadm, cluster, allowed] of table) {
    it(`${action}: kubeadm ${kubeadm} with Kubernetes ${cluster} → ${allowed ? 'allowed' : 'refused'}`, () => {
      const input = { action, kubeadm: v(kubeadm), cluster: v(cluster) };
      assert.equal(versionSkewProblem(input) === undefined, allowed);
      if (allowed) assertVersionSkew(input);
      else assert.throws(() => assertVersionSkew(input), IncompatibleError);
    });
  }

  it('names both versions and the AMI to use when refusing a join', () => {
    assert.throws(
      () =>
        assertVersionSkew({
          action: 'join-worker',
          kubeadm: v('v1.30.6'),
          cluster: v('v1.31.2'),
          clusterName: 'demo',
        }),
      (error: unknown) => {
        assert.ok(error instanceof IncompatibleError);
        assert.match(error.message, /cannot join cluster "demo" as a worker/);
        assert.match(error.message, /kubeadm v1\.30\.6 is older than Kubernetes v1\.31\.2/);
        assert.match(error.hint ?? '', /AMI with kubeadm 1\.31/);
        assert.deepEqual(error.details, {
          action: 'join-worker',
          kubeadmVersion: 'v1.30.6',
          clusterVersion: 'v1.31.2',
        });
        return true;
      },
    );
  });

  it('suggests a matching kubernetesVersion when refusing an init', () => {
    assert.throws(
      () => assertVersionSkew({ action: 'init', kubeadm: v('v1.31.2'), cluster: v('v1.30.6') }),
      (error: unknown) => {
        assert.ok(error instanceof IncompatibleError);
        assert.match(
          error.message,
          /cannot initialize the cluster: kubeadm v1\.31\.2 is newer than Kubernetes v1\.30\.6/,
        );
        assert.match(error.hint ?? '', /kubernetesVersion to a 1\.31\.x version/);
        return true;
      },
    );
  });
});
