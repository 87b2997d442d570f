/**
 * The restore itself: the cluster PKI back into /etc/kubernetes/pki (0600 keys), then the newest
 * snapshot whose SHA-256 and size match its record (older ones tried in turn) restored into a new
 * one-member etcd data directory, as `kboot etcd restore` does (its download and restore code).
 */

import { UsageError } from '../../../core/errors.js';
import { PKI_DIR, PKI_FILES } from '../../pki/bundle.js';
import { downloadPath, downloadVerified } from '../etcd-restore.js';
import type { RecoverStep } from './state.js';

/** kubeadm's stacked etcd data directory (ClusterConfiguration etcd.local.dataDir default). */
export const ETCD_DATA_DIR = '/var/lib/etcd';

export const writePki: RecoverStep = {
  name: 'write-pki',
  kind: 'change',
  describe: () => `write the cluster CAs and service-account keys to ${PKI_DIR} (mode 0600)`,
  async run({ state, deps }) {
    const files = state.get('pki').files.reveal();
    for (const name of PKI_FILES) await deps.fs.writePrivateFile(`${PKI_DIR}/${name}`, files[name]);
    deps.logger.info({ files: PKI_FILES.length, dir: PKI_DIR }, 'wrote the cluster PKI from its secret');
    return undefined;
  },
  undo: {
    describe: `remove ${PKI_DIR}`,
    run: async ({ deps }) => deps.fs.remove(PKI_DIR),
    removesSecrets: true,
  },
};

export const backupStep: RecoverStep = {
  name: 'backup',
  kind: 'read',
  describe: () => "find the cluster's etcd snapshots (backup.bucket of the node config)",
  async run({ state, deps, signal }) {
    const backup = await deps.recovery.backup();
    if (backup === undefined) {
      throw new UsageError(
        'the control plane is lost, and no backup bucket is configured to restore it from',
        {
          hint: 'set backup.bucket in /etc/kboot/config.yaml (docs/backup.md), or restore by hand with kboot etcd restore',
        },
      );
    }
    const snapshots = (await backup.records.list(state.get('identity').clusterName, signal))
      .filter((record) => record.bucket === backup.objects.bucket)
      .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
    if (snapshots.length === 0) {
      throw new UsageError(
        `the control plane is lost, and cluster ${state.get('identity').clusterName} has no etcd snapshot in s3://${backup.objects.bucket}`,
        {
          hint: 'nothing can be restored automatically: create the cluster again, or restore a copy by hand (docs/backup.md)',
        },
      );
    }
    state.set({ backup, dataDir: deps.fs.resolve(ETCD_DATA_DIR), refused: [] });
    return undefined;
  },
};

export const restoreSnapshot: RecoverStep = {
  name: 'restore-snapshot',
  kind: 'change',
  describe: (state) =>
    `restore the newest snapshot whose SHA-256 verifies (older ones if not) into ${ETCD_DATA_DIR} as the one member ${state.get('nodeName')}`,
  async run({ state, logger, signal }) {
    const backup = state.get('backup');
    const dataDir = state.get('dataDir');
    const file = downloadPath(dataDir);
    state.set({ download: file });
    if (await backup.local.nonEmpty(dataDir)) {
      throw new UsageError(`${dataDir} is not empty: kboot restores only into a new data directory`, {
        hint: 'this instance holds etcd data already: it is not a new control-plane instance; terminate it',
      });
    }
    const snapshots = (await backup.records.list(state.get('identity').clusterName, signal))
      .filter((record) => record.bucket === backup.objects.bucket)
      .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
    const refused = state.get('refused');
    for (const snapshot of snapshots) {
      try {
        await downloadVerified(backup, snapshot, file, logger, signal);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        refused.push({ key: snapshot.key, reason: error.message });
        logger.warn(
          { key: snapshot.key, reason: error.message },
          'snapshot refused; trying the previous one',
        );
        await backup.local.remove(file);
        continue;
      }
      const peerUrl = `https://${state.get('identity').instance.privateIpv4}:2380`;
      const tool = await backup.local.restore(
        file,
        dataDir,
        { name: state.get('nodeName'), peerUrl },
        signal,
      );
      state.set({ snapshot });
      logger.info(
        {
          key: snapshot.key,
          revision: snapshot.revision,
          takenAt: snapshot.takenAt,
          tool,
          refused: refused.length,
        },
        'restored the etcd snapshot into a new one-member data directory',
      );
      return undefined;
    }
    throw new UsageError(
      `no etcd snapshot of cluster ${state.get('identity').clusterName} matches its record: ${refused.map((r) => r.key).join(', ')} refused`,
      {
        hint: 'the objects were changed or damaged; nothing was restored (docs/backup.md "Automatic recovery")',
      },
    );
  },
  cleanup: {
    describe: 'remove the downloaded snapshot file',
    async run({ state }) {
      const file = state.peek('download');
      const backup = state.peek('backup');
      if (file !== undefined && backup !== undefined) await backup.local.remove(file);
    },
  },
  undo: {
    describe: `remove the restored data directory ${ETCD_DATA_DIR}`,
    async run({ state }) {
      const dataDir = state.peek('dataDir');
      const backup = state.peek('backup');
      if (dataDir !== undefined && backup !== undefined) await backup.local.remove(dataDir);
    },
  },
};
