/**
 * A master's Kubernetes steps, with a 0600 copy of its admin.conf that `kubeadm reset` keeps:
 * the copy, its own drain, and the delete of its Node.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { KubectlError } from '../../../core/errors.js';
import { deleteNode as deleteNodeObject, drainNode, type NodeKubectl } from '../../leave/drain.js';
import { ADMIN_CONF_PATH } from '../paths.js';
import { bestEffort, mastersOnly, WORKER_HOLDS_NO_CREDENTIAL } from './report.js';
import type { LeaveStep, Leaving } from './types.js';

const LEAVE_DIR = '/var/lib/kboot/leave';
/** A master's copy of admin.conf: `kubeadm reset` deletes admin.conf before the Node is deleted. */
const LEAVE_ADMIN_CONF_PATH = `${LEAVE_DIR}/admin.conf`;

export const kubeconfigStep: LeaveStep = {
  ...bestEffort({
    name: 'kubeconfig',
    describe: () => `copy ${ADMIN_CONF_PATH} to ${LEAVE_ADMIN_CONF_PATH} (0600), which kubeadm reset keeps`,
    skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
    noUndo: 'its cleanup removes the copy',
    run: (leaving) => prepareKubeconfig(leaving),
  }),
  noUndo: undefined,
  // A master keeps its admin.conf copy until a leave succeeds (a re-run after reset needs it).
  cleanup: {
    describe: `remove the admin.conf copy under ${LEAVE_DIR} once the leave succeeded`,
    run: async ({ state, deps }) => {
      const leaving = state.get('leaving');
      if (leaving.failures.length === 0) await deps.fs.remove(LEAVE_ADMIN_CONF_PATH);
    },
    removesSecrets: true,
  },
};

export const drainStep = bestEffort({
  name: 'drain',
  describe: (leaving) =>
    `cordon and drain node ${leaving.nodeName} (evictions respect PodDisruptionBudgets; deadline ${formatDurationMs(leaving.options.drainTimeoutMs)}, then go on)`,
  skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
  noUndo: 'the instance is being terminated: its pods are not brought back',
  run: (leaving) => drain(leaving),
});

export const deleteNodeStep = bestEffort({
  name: 'delete-node',
  describe: (leaving) => `delete the Node object ${leaving.nodeName}`,
  skip: mastersOnly(WORKER_HOLDS_NO_CREDENTIAL),
  noUndo: 'the instance is being terminated',
  run: (leaving) => deleteNode(leaving),
});

async function prepareKubeconfig(leaving: Leaving): Promise<string | { skipped: string }> {
  const { deps } = leaving;
  const admin = await deps.fs.readText(ADMIN_CONF_PATH);
  if (admin !== undefined) {
    await deps.fs.writePrivateFile(LEAVE_ADMIN_CONF_PATH, admin);
    leaving.kubeconfig = { path: deps.fs.resolve(LEAVE_ADMIN_CONF_PATH) };
    return `copied ${ADMIN_CONF_PATH} to ${LEAVE_ADMIN_CONF_PATH}`;
  }
  if (await deps.fs.exists(LEAVE_ADMIN_CONF_PATH)) {
    leaving.kubeconfig = { path: deps.fs.resolve(LEAVE_ADMIN_CONF_PATH) };
    return {
      skipped: `${ADMIN_CONF_PATH} is gone (kubeadm reset ran); using the copy a previous leave kept`,
    };
  }
  leaving.kubeconfig = {
    missing: `${ADMIN_CONF_PATH} is gone and no earlier leave kept a copy (this master was reset: by a completed leave, or by hand)`,
  };
  return {
    skipped: `${leaving.kubeconfig.missing}; if its Node is still listed, delete it from another master`,
  };
}

/** kubectl with the master's admin.conf copy; throws when there is none. */
function nodeKubectl(leaving: Leaving, step: string): NodeKubectl {
  if (!('path' in leaving.kubeconfig)) {
    throw new KubectlError(`cannot ${step}: no kubeconfig (${leaving.kubeconfig.missing})`, {
      hint: 'delete the Node by hand from another master: kubectl delete node NAME',
    });
  }
  return {
    kubectl: leaving.deps.kubectl,
    kubeconfigPath: leaving.kubeconfig.path,
    logger: leaving.deps.logger,
    signal: leaving.signal,
  };
}

/** Why the Kubernetes steps cannot run (the kubeconfig step said, or failed), or undefined. */
function noKubeconfig(leaving: Leaving): { skipped: string } | undefined {
  if ('path' in leaving.kubeconfig) return undefined;
  return { skipped: `no kubeconfig: ${leaving.kubeconfig.missing}` };
}

async function drain(leaving: Leaving): Promise<string | { skipped: string }> {
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  return drainNode(nodeKubectl(leaving, 'drain'), leaving.nodeName, leaving.options.drainTimeoutMs);
}

async function deleteNode(leaving: Leaving): Promise<string | { skipped: string }> {
  const cannot = noKubeconfig(leaving);
  if (cannot !== undefined) return cannot;
  return deleteNodeObject(nodeKubectl(leaving, 'delete the Node'), leaving.nodeName);
}
