/**
 * The step that writes the files a hardened API server reads (the audit policy, the
 * authentication configuration, the encryption configuration with its key), 0600 under /etc/kubernetes, before kubeadm init or
 * join --control-plane writes the static pod manifests that mount them. Shared by
 * bootstrap-master and join-master; the files stay after a success (the API server reads them at
 * every start) and go on undo.
 */

import type { Secret } from '../../core/secrets.js';
import { type HardeningFile, hardeningFiles, resolveHardening } from '../kubeadm/hardening.js';
import type { RenderMode } from '../kubeadm/types.js';
import type { FlowState } from '../steps/state.js';
import type { Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';

/** The files for this node: its node config's `hardening` and the cluster's Kubernetes version. */
export function controlPlaneFiles(
  deps: FlowDeps,
  kubernetesVersion: string,
  key: Secret | undefined,
  mode: RenderMode = 'reveal',
): HardeningFile[] {
  return hardeningFiles(resolveHardening(deps.config.hardening), kubernetesVersion, key, mode);
}

/**
 * The secretbox settings of a cluster whose control-plane secret has no key were never in effect:
 * the cluster was initialized without encryption at rest (by an older kboot, or with it turned
 * off), so its ClusterConfiguration names no encryption config and a joining master writes none.
 */
function withoutKeylessSecretbox(deps: FlowDeps, key: Secret | undefined, logger: FlowDeps['logger']) {
  const hardening = resolveHardening(deps.config.hardening);
  if (hardening.encryptionAtRest?.provider !== 'secretbox' || key !== undefined) return hardening;
  logger.warn(
    'the control-plane secret holds no encryption at rest key: the cluster was initialized without encryption at rest, so this master writes no encryption config',
  );
  return { ...hardening, encryptionAtRest: undefined };
}

/**
 * `encryptionKey`: the secretbox key of this cluster (made at init on the first master; read from
 * the control-plane secret on a joining master); never logged, never in argv.
 */
export function hardeningFilesStep<T extends object>(
  kubernetesVersion: (state: FlowState<T>) => string,
  encryptionKey: (state: FlowState<T>) => Secret | undefined,
): Step<T, FlowDeps> {
  const paths = (state: FlowState<T>, deps: FlowDeps) =>
    controlPlaneFiles(deps, kubernetesVersion(state), undefined, 'redacted').map((file) => file.path);
  return {
    name: 'hardening-files',
    kind: 'change',
    describe: (state, deps) => {
      const files = paths(state, deps);
      return files.length === 0
        ? 'write no hardening files (turned off in the node config)'
        : `write the API server's hardening files (mode 0600): ${files.join(', ')}`;
    },
    skip: (state, deps) =>
      paths(state, deps).length === 0 ? 'hardening files are turned off in the node config' : undefined,
    async run({ state, deps, logger }) {
      const key = encryptionKey(state);
      const files = hardeningFiles(withoutKeylessSecretbox(deps, key, logger), kubernetesVersion(state), key);
      for (const file of files) {
        await deps.fs.writePrivateFile(
          file.path,
          typeof file.content === 'string' ? file.content : file.content.reveal(),
        );
      }
      logger.info({ files: files.map((file) => file.path) }, "wrote the API server's hardening files");
      return undefined;
    },
    undo: {
      describe: 'remove the hardening files this attempt wrote',
      removesSecrets: true,
      async run({ state, deps }) {
        for (const path of paths(state, deps)) await deps.fs.remove(path);
      },
    },
  };
}
