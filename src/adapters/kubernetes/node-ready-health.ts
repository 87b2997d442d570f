/**
 * A health gate from the Node objects alone (src/domain/upgrade/ports.ts ClusterHealth): the API
 * answers (through the admin kubeconfig, which names the load balancer), and every expected
 * control-plane Node and every new Node exists with Ready=True. It does not look at etcd's member
 * list or the static Pods: the full gate (upgrade-cluster-side adapters) replaces it where present
 * (src/cli/upgrade/cluster-side.ts says which one the command uses).
 */

import { isKbootError } from '../../core/errors.js';
import type { NodeObjects } from '../../domain/cleanup/ports.js';
import type { ClusterHealth, HealthExpectation, HealthReport } from '../../domain/upgrade/ports.js';

export class NodeReadyHealth implements ClusterHealth {
  readonly #nodes: NodeObjects;

  constructor(nodes: NodeObjects) {
    this.#nodes = nodes;
  }

  async check(expect: HealthExpectation): Promise<HealthReport> {
    let nodes: Awaited<ReturnType<NodeObjects['list']>>;
    try {
      nodes = await this.#nodes.list();
    } catch (error) {
      const message = isKbootError(error) || error instanceof Error ? error.message : String(error);
      return { healthy: false, problems: [`the API server: listing Nodes failed: ${message}`] };
    }
    const byName = new Map(nodes.map((node) => [node.name, node]));
    const problems: string[] = [];
    const wanted = [...new Set([...expect.controlPlaneNodes, ...expect.readyNodes])];
    for (const name of wanted) {
      const node = byName.get(name);
      const what = expect.controlPlaneNodes.includes(name) ? 'control-plane Node' : 'new Node';
      if (node === undefined) problems.push(`${what} ${name}: no such Node`);
      else if (node.ready !== 'True')
        problems.push(`${what} ${name}: Ready is ${node.ready ?? 'not reported'}`);
    }
    return { healthy: problems.length === 0, problems };
  }
}
