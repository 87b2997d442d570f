/**
 * After kubeadm init: the cluster PKI (three CAs and the service-account key pair) kept in
 * `kboot/<cluster>/pki` (masters only, the cluster's KMS key), so a cluster that loses every
 * control-plane instance can be restored from an etcd snapshot. Its version is recorded by the
 * fenced write that marks the cluster initialized: a version a master that lost its lease wrote is
 * never read.
 */

import { pkiSecretId } from '../../join/secret-ids.js';
import { PKI_DIR, PKI_FILES, type PkiFile, pkiBundle } from '../../pki/bundle.js';
import type { FlowDeps } from '../deps.js';
import type { BootstrapStep } from './state.js';

/** The PKI files kubeadm wrote, read for the bundle. */
export async function readPkiFiles(deps: FlowDeps): Promise<Partial<Record<PkiFile, string>>> {
  const files: Partial<Record<PkiFile, string>> = {};
  for (const name of PKI_FILES) {
    const text = await deps.fs.readText(`${PKI_DIR}/${name}`);
    if (text !== undefined) files[name] = text;
  }
  return files;
}

export const pkiSecretStep: BootstrapStep = {
  name: 'pki-secret',
  kind: 'change',
  describe: (state) =>
    `keep the cluster CAs and service-account keys (${PKI_DIR}: ${PKI_FILES.join(', ')}) in secret ${pkiSecretId(state.get('identity').clusterName)}`,
  async run({ state, deps, signal }) {
    const identity = state.get('identity');
    const record = state.get('record');
    const bundle = pkiBundle(await readPkiFiles(deps), {
      savedAt: new Date(deps.clock.nowMs()).toISOString(),
      savedBy: identity.instance.instanceId,
    });
    signal.throwIfAborted();
    const store = await deps.pkiSecrets();
    const written = await store.write(
      identity.clusterName,
      bundle,
      record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId },
    );
    state.set({ pkiSecret: written });
    deps.logger.info(
      { secretId: written.secretId, versionId: written.versionId, caExpiresAt: bundle.caExpiresAt },
      'kept the cluster PKI in Secrets Manager',
    );
    return undefined;
  },
  noUndo:
    'the version written is recorded only by the fenced write that marks the cluster initialized: an init undone after this step leaves a version no record names, so none is ever read (the next init writes its own), and it keeps the CA of a cluster that no longer exists',
};
