/**
 * How the domain runs kubectl: against one kubeconfig, manifests on stdin, stdout and stderr
 * returned, a failure thrown as KubectlError. The process adapter (kubectl.ts) runs the real one.
 */

export interface KubectlRunOptions {
  /** The kubeconfig kubectl uses (an absolute path on this machine, 0600). */
  kubeconfigPath: string;
  /** Fed to kubectl's stdin (`apply -f -`); never logged. */
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

export interface KubectlRunner {
  run(args: readonly string[], options: KubectlRunOptions): Promise<KubectlResult>;
}
