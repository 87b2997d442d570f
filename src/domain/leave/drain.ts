/**
 * Draining a node and deleting its Node object through the kubectl port, with a kubeconfig the
 * caller holds: a leaving master's own admin.conf copy (flows/leave.ts), or the admin.conf of the
 * control-plane member that drains a worker on its request (flows/leave-controller.ts). Workers
 * never run these: they hold no Kubernetes credential.
 */

import { formatDurationMs } from '../../core/duration.js';
import { KubectlError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { KubectlRunner } from '../ports/kubectl.js';

const KUBECTL_TIMEOUT_MS = 60_000;
/** kubectl's answer for a Node that does not exist. */
const NOT_FOUND = /NotFound|not found/;
/** kubectl drain's answer at its --timeout. */
const DRAIN_DEADLINE = /global timeout reached|timed out/i;

export interface NodeKubectl {
  kubectl: KubectlRunner;
  kubeconfigPath: string;
  logger: Logger;
  signal: AbortSignal;
}

async function run(ctx: NodeKubectl, args: string[], timeoutMs = KUBECTL_TIMEOUT_MS): Promise<string> {
  const result = await ctx.kubectl.run(args, {
    kubeconfigPath: ctx.kubeconfigPath,
    timeoutMs,
    signal: ctx.signal,
  });
  return result.stdout;
}

/** True when the Node exists; false when the API server says it does not. */
export async function nodeExists(ctx: NodeKubectl, nodeName: string): Promise<boolean> {
  try {
    await run(ctx, ['get', 'node', nodeName, '-o', 'name']);
    return true;
  } catch (error) {
    if (error instanceof KubectlError && NOT_FOUND.test(error.message)) return false;
    throw error;
  }
}

/**
 * Cordons and drains the node (evictions respect PodDisruptionBudgets); at the deadline, logs the
 * pods left and goes on (the instance is being terminated either way).
 */
export async function drainNode(
  ctx: NodeKubectl,
  nodeName: string,
  drainTimeoutMs: number,
): Promise<string | { skipped: string }> {
  if (!(await nodeExists(ctx, nodeName)))
    return { skipped: `Node ${nodeName} does not exist: nothing to drain` };
  const timeoutSeconds = Math.ceil(drainTimeoutMs / 1000);
  try {
    await run(
      ctx,
      [
        'drain',
        nodeName,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        // Pods without a controller would block the drain until the deadline; the instance and
        // they are going anyway. They are evicted like the others (PodDisruptionBudgets hold).
        '--force',
        `--timeout=${timeoutSeconds}s`,
      ],
      drainTimeoutMs + 30_000,
    );
    return `drained node ${nodeName}`;
  } catch (error) {
    if (!(error instanceof KubectlError) || !DRAIN_DEADLINE.test(error.message)) throw error;
  }
  const left = await podsLeft(ctx, nodeName);
  ctx.logger.warn(
    { node: nodeName, podsLeft: left },
    `the drain deadline (${formatDurationMs(drainTimeoutMs)}) passed with ${left.length} pod(s) still on the node; going on, as the instance is being terminated anyway`,
  );
  return `drain deadline passed with ${left.length} pod(s) left: ${left.join(', ') || 'none listed'}`;
}

async function podsLeft(ctx: NodeKubectl, nodeName: string): Promise<string[]> {
  try {
    const out = await run(ctx, [
      'get',
      'pods',
      '--all-namespaces',
      '--field-selector',
      `spec.nodeName=${nodeName}`,
      '-o',
      'custom-columns=POD:.metadata.namespace,NAME:.metadata.name',
      '--no-headers',
    ]);
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/).join('/'))
      .filter((line) => line !== '');
  } catch (error) {
    ctx.logger.warn({ err: error }, 'could not list the pods left on the node');
    return [];
  }
}

export async function deleteNode(ctx: NodeKubectl, nodeName: string): Promise<string | { skipped: string }> {
  const out = await run(ctx, ['delete', 'node', nodeName, '--ignore-not-found']);
  return out.trim() === '' ? { skipped: `Node ${nodeName} was already gone` } : `deleted Node ${nodeName}`;
}
