/** `kubeadm reset -f`; a master's remove-etcd-member phase skipped (kboot did that, with the quorum check). */

import { bestEffort } from './report.js';
import type { Leaving } from './types.js';

const KUBEADM_RESET_TIMEOUT_MS = 5 * 60_000;

export const kubeadmResetStep = bestEffort({
  name: 'kubeadm-reset',
  describe: resetDescription,
  noUndo: 'the instance is being terminated',
  run: (leaving) => kubeadmReset(leaving),
});

function resetArgs(leaving: Leaving): string[] {
  // On a master kboot removed the etcd member itself (with the quorum check): kubeadm's own
  // remove-etcd-member phase would try again, and remove it even when quorum forbids.
  return leaving.controlPlane ? ['reset', '-f', '--skip-phases=remove-etcd-member'] : ['reset', '-f'];
}

function resetDescription(leaving: Leaving): string {
  return `run kubeadm ${resetArgs(leaving).join(' ')}`;
}

async function kubeadmReset(leaving: Leaving): Promise<string> {
  const { deps } = leaving;
  await deps.kubeadm.run(resetArgs(leaving), { timeoutMs: KUBEADM_RESET_TIMEOUT_MS, signal: leaving.signal });
  return `ran kubeadm ${resetArgs(leaving).join(' ')}`;
}
