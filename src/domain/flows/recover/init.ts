/**
 * kubeadm init over the restored data and PKI: the encryption at rest key of the lost cluster
 * (the restored Secrets were written with it), and `kubeadm init` told that the etcd data
 * directory is meant to be there (kubeadm reuses the CAs and service-account key it finds and
 * makes this node's own certificates from them). Undo: kubeadm reset, as for a first init.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { resetAfterFailure } from '../common.js';
import { INIT_CONFIG_PATH } from '../paths.js';
import type { RecoverStep } from './state.js';

/** kubeadm's preflight check of an empty etcd data directory: the restored one is meant to be there. */
export const RESTORED_DATA_DIR_CHECK = 'DirAvailable--var-lib-etcd';

export const reuseEncryptionKey: RecoverStep = {
  name: 'encryption-key',
  kind: 'read',
  describe: () =>
    "read the lost cluster's encryption at rest key (kboot/<cluster>/control-plane): the restored Secrets are encrypted with it",
  skip: (state) =>
    state.has('encryptionKey')
      ? undefined
      : 'encryption at rest does not use secretbox here (hardening.encryptionAtRest)',
  async run({ state, deps }) {
    const record = state.get('record');
    const secret = await (await deps.joinMaterial()).readControlPlane(
      record.clusterName,
      record.joinMaterial?.versions?.controlPlane,
    );
    if (secret.encryptionKey !== undefined) state.set({ encryptionKey: secret.encryptionKey });
    else
      deps.logger.warn(
        'the lost cluster kept no encryption at rest key: its Secrets were not encrypted with one',
      );
    return undefined;
  },
};

export const kubeadmInitOverRestore: RecoverStep = {
  name: 'kubeadm-init',
  kind: 'change',
  describe: () =>
    `run kubeadm init --upload-certs over the restored etcd data and PKI (--ignore-preflight-errors=${RESTORED_DATA_DIR_CHECK})`,
  async run({ deps, signal }) {
    const startedMs = deps.clock.nowMs();
    await deps.kubeadm.run(
      [
        'init',
        '--config',
        deps.fs.resolve(INIT_CONFIG_PATH),
        '--upload-certs',
        '--skip-token-print',
        '--skip-certificate-key-print',
        `--ignore-preflight-errors=${RESTORED_DATA_DIR_CHECK}`,
      ],
      { timeoutMs: deps.settings.kubeadmTimeoutMs, signal },
    );
    deps.logger.info(
      { took: formatDurationMs(deps.clock.nowMs() - startedMs) },
      'kubeadm init over the restored data finished',
    );
    return undefined;
  },
  undo: {
    describe:
      'run kubeadm reset -f (it removes the restored data directory and PKI; the snapshot stays in S3)',
    run: async ({ deps, failure, signal }) =>
      resetAfterFailure(deps, `recovery stopped at ${failure?.step ?? 'a later step'}`, signal),
  },
};
