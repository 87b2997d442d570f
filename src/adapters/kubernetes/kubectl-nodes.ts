/**
 * NodeObjects over kubectl with the admin kubeconfig: `kubectl get nodes -o json` (name,
 * providerID, Ready condition kept; nothing else) and `kubectl delete node NAME`. A Node that is
 * already gone counts as deleted.
 */

import { z } from 'zod';
import { KubectlError, StateConflictError } from '../../core/errors.js';
import type { NodeObject, NodeObjects } from '../../domain/cleanup/ports.js';
import type { KubectlRunner } from '../../domain/ports/kubectl.js';

const nodeListShape = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string().min(1) }),
      spec: z.object({ providerID: z.string().optional() }).optional(),
      status: z
        .object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional() })
        .optional(),
    }),
  ),
});

/** One kubectl call against the API server. */
const KUBECTL_TIMEOUT_MS = 60_000;

export class KubectlNodeObjects implements NodeObjects {
  readonly #kubectl: KubectlRunner;
  readonly #kubeconfigPath: string;

  constructor(kubectl: KubectlRunner, kubeconfigPath: string) {
    this.#kubectl = kubectl;
    this.#kubeconfigPath = kubeconfigPath;
  }

  async list(signal?: AbortSignal): Promise<NodeObject[]> {
    const { stdout } = await this.#kubectl.run(['get', 'nodes', '-o', 'json'], {
      kubeconfigPath: this.#kubeconfigPath,
      timeoutMs: KUBECTL_TIMEOUT_MS,
      ...(signal === undefined ? {} : { signal }),
    });
    let parsed: z.infer<typeof nodeListShape>;
    try {
      parsed = nodeListShape.parse(JSON.parse(stdout));
    } catch (error) {
      throw new StateConflictError('kubectl get nodes -o json printed something that is not a NodeList', {
        cause: error,
        hint: 'check the kubectl on this instance (kubectl version) and the admin kubeconfig',
      });
    }
    return parsed.items.map((item) => ({
      name: item.metadata.name,
      providerId: item.spec?.providerID,
      ready: item.status?.conditions?.find((condition) => condition.type === 'Ready')?.status,
    }));
  }

  async delete(name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#kubectl.run(['delete', 'node', name, '--ignore-not-found'], {
        kubeconfigPath: this.#kubeconfigPath,
        timeoutMs: KUBECTL_TIMEOUT_MS,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (error instanceof KubectlError) throw error;
      throw new KubectlError(`could not delete Node ${name}`, { cause: error });
    }
  }
}
