/** The Node-based health gate: every expected Node present and Ready, a failed list a problem, not a throw. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeReadyHealth } from '../../../../src/adapters/kubernetes/node-ready-health.js';
import { KubectlError } from '../../../../src/core/errors.js';
import type { NodeObject } from '../../../../src/domain/cleanup/ports.js';

function nodes(list: NodeObject[] | Error) {
  return {
    list: async () => {
      if (list instanceof Error) throw list;
      return list;
    },
    delete: async () => {
      throw new Error('not used');
    },
  };
}

const node = (name: string, ready: string | undefined): NodeObject => ({
  name,
  providerId: undefined,
  ready,
});

describe('NodeReadyHealth', () => {
  it('passes when every control-plane Node and new Node is Ready', async () => {
    const health = new NodeReadyHealth(
      nodes([node('cp-1', 'True'), node('cp-2', 'True'), node('w-1', 'True')]),
    );
    assert.deepEqual(await health.check({ controlPlaneNodes: ['cp-1', 'cp-2'], readyNodes: ['w-1'] }), {
      healthy: true,
      problems: [],
    });
  });

  it('names each missing or not-Ready Node', async () => {
    const health = new NodeReadyHealth(nodes([node('cp-1', 'False'), node('w-1', undefined)]));
    const report = await health.check({ controlPlaneNodes: ['cp-1', 'cp-2'], readyNodes: ['w-1'] });
    assert.equal(report.healthy, false);
    assert.deepEqual(report.problems, [
      'control-plane Node cp-1: Ready is False',
      'control-plane Node cp-2: no such Node',
      'new Node w-1: Ready is not reported',
    ]);
  });

  it('reports an API server that does not answer as a failed check', async () => {
    const health = new NodeReadyHealth(nodes(new KubectlError('kubectl get nodes timed out after 60s')));
    const report = await health.check({ controlPlaneNodes: ['cp-1'], readyNodes: [] });
    assert.equal(report.healthy, false);
    assert.match(
      report.problems[0] ?? '',
      /^the API server: listing Nodes failed: kubectl get nodes timed out/,
    );
  });
});
