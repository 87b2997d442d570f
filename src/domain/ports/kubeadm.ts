/**
 * How the flows run kubeadm: one call per kubeadm command, its stdout returned, a failure thrown
 * as KubeadmError with the tail of its output. The process adapter (kubeadm.ts) runs the real one.
 */

export interface KubeadmRunner {
  run(args: readonly string[], options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<string>;
}
