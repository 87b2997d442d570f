/**
 * kubeadm's auto-approval of new kubelets' client certificates, and the step that removes it.
 * `kubeadm init` (and `kubeadm upgrade apply`, again) binds the bootstrap token's group to
 * `system:certificates.k8s.io:certificatesigningrequests:nodeclient`, so kube-controller-manager
 * approves any client request made with the token, for whatever node name it asks: anyone who
 * can read the join secret could become any node. kboot deletes that binding right after init
 * (before it publishes the token) and again at every `kboot approve-csrs` run (an upgrade puts it
 * back), and approves the requests itself, by name, against EC2 (src/domain/csr/client.ts).
 * kubeadm's other bindings stay: the token may still create requests, and a node may still renew
 * its own certificate (`kubeadm:node-autoapprove-certificate-rotation`).
 */

import type { Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';
import { ADMIN_CONF_PATH } from './paths.js';

export const AUTO_APPROVE_BINDING = 'kubeadm:node-autoapprove-bootstrap';
const KUBECTL_TIMEOUT_MS = 30_000;

/** Deletes the binding; true when there was one. */
export async function removeAutoApproval(deps: FlowDeps, signal: AbortSignal): Promise<boolean> {
  const { stdout } = await deps.kubectl.run(
    ['delete', 'clusterrolebinding', AUTO_APPROVE_BINDING, '--ignore-not-found'],
    { kubeconfigPath: deps.fs.resolve(ADMIN_CONF_PATH), timeoutMs: KUBECTL_TIMEOUT_MS, signal },
  );
  return stdout.includes('deleted');
}

/** The step, for bootstrap-master (after kubeadm init) and approve-csrs (every run). */
export function autoApprovalOffStep<T extends object>(when: 'init' | 'every-run'): Step<T, FlowDeps> {
  return {
    name: 'node-client-auto-approval-off',
    kind: 'change',
    describe: () =>
      `delete kubeadm's ClusterRoleBinding ${AUTO_APPROVE_BINDING} (kubectl, ${ADMIN_CONF_PATH}): new kubelets' client certificates are approved by kboot approve-csrs, by name, against EC2`,
    noUndo: 'the binding lets any holder of the bootstrap token become any node; kboot never puts it back',
    async run({ deps, signal }) {
      const removed = await removeAutoApproval(deps, signal);
      if (removed) {
        const log = when === 'init' ? deps.logger.info.bind(deps.logger) : deps.logger.warn.bind(deps.logger);
        log(
          { binding: AUTO_APPROVE_BINDING },
          when === 'init'
            ? "removed kubeadm's auto-approval of node client certificates"
            : "removed kubeadm's auto-approval of node client certificates again (kubeadm upgrade puts it back)",
        );
      }
      return undefined;
    },
  };
}
