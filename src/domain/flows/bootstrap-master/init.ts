/**
 * kubeadm init: the init config (0600, removed at the end), the reset of an earlier unfinished
 * init, `kubeadm init --upload-certs` (undo: kubeadm reset), the CA hash and admin.conf it wrote.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { KubeadmError } from '../../../core/errors.js';
import { Secret } from '../../../core/secrets.js';
import { caCertHash } from '../../kubeadm/ca-hash.js';
import { renderInitConfig } from '../../kubeadm/render.js';
import { resetAfterFailure } from '../common.js';
import { ADMIN_CONF_PATH, CA_CERT_PATH, INIT_CONFIG_PATH } from '../paths.js';
import type { BootstrapStep } from './state.js';

export const writeInitConfig: BootstrapStep = {
  name: 'write-init-config',
  kind: 'change',
  describe: () => `write the kubeadm init config to ${INIT_CONFIG_PATH} (mode 0600)`,
  files: (state) => [
    { path: INIT_CONFIG_PATH, content: renderInitConfig(state.get('initInput'), { mode: 'redacted' }) },
  ],
  async run({ state, deps }) {
    await deps.fs.writePrivateFile(INIT_CONFIG_PATH, renderInitConfig(state.get('initInput')));
    return undefined;
  },
  cleanup: {
    describe: `remove ${INIT_CONFIG_PATH} (it holds the bootstrap token and certificate key)`,
    run: async ({ deps }) => deps.fs.remove(INIT_CONFIG_PATH),
    removesSecrets: true,
  },
};

export const resetPartialInit: BootstrapStep = {
  name: 'reset-partial-init',
  kind: 'change',
  describe: () => 'reset the remains of an earlier, unfinished init (kubeadm reset -f)',
  skip: (state) =>
    state.get('membership').state === 'partial' ? undefined : 'no earlier, unfinished init to reset',
  noUndo: 'kubeadm reset leaves the node clean; the next steps start from there',
  async run({ deps, signal }) {
    await resetAfterFailure(deps, 'an earlier init did not finish', signal);
    return undefined;
  },
};

export const kubeadmInit: BootstrapStep = {
  name: 'kubeadm-init',
  kind: 'change',
  describe: () => 'run kubeadm init --upload-certs',
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
      ],
      { timeoutMs: deps.settings.kubeadmTimeoutMs, signal },
    );
    deps.logger.info({ took: formatDurationMs(deps.clock.nowMs() - startedMs) }, 'kubeadm init finished');
    return undefined;
  },
  undo: {
    describe: 'run kubeadm reset -f, so the next attempt starts clean',
    run: async ({ deps, failure, signal }) =>
      resetAfterFailure(deps, `bootstrap stopped at ${failure?.step ?? 'a later step'}`, signal),
  },
};

export const caCertHashStep: BootstrapStep = {
  name: 'ca-cert-hash',
  kind: 'read',
  afterChange: true,
  describe: () => `compute the CA certificate hash from ${CA_CERT_PATH} and read ${ADMIN_CONF_PATH}`,
  async run({ state, deps }) {
    const caPem = await deps.fs.readText(CA_CERT_PATH);
    if (caPem === undefined) throw new KubeadmError(`kubeadm init did not write ${CA_CERT_PATH}`);
    const adminConf = await deps.fs.readText(ADMIN_CONF_PATH);
    if (adminConf === undefined) throw new KubeadmError(`kubeadm init did not write ${ADMIN_CONF_PATH}`);
    state.set({ caHash: caCertHash(caPem, CA_CERT_PATH), adminConf: new Secret(adminConf) });
    return undefined;
  },
};
