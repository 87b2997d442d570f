/**
 * The restored cluster made joinable: fresh join material (token, certificate key, admin.conf of
 * the restored control plane) published, then one fenced write that replaces the lost cluster's
 * `initialized` with this instance's and records `restoredFrom`; the member record. Other
 * instances then join it as usual.
 */

import { publishedVersions } from '../../join/store.js';
import { joinMaterialAt } from '../bootstrap-master/publish.js';
import type { RecoverStep } from './state.js';

export const publishAndMarkRestored: RecoverStep = {
  name: 'publish-join-material',
  kind: 'change',
  describe: () =>
    'publish fresh join, control-plane and admin.conf secrets, and record the cluster as restored from the snapshot (under the lease)',
  commits:
    'once the record names this instance, other instances join the restored cluster: it is never reset after that',
  async run({ state, deps, signal }) {
    const lease = state.get('lease');
    const record = state.get('record');
    const snapshot = state.get('snapshot');
    const nowMs = deps.clock.nowMs();
    const { material, stamp } = joinMaterialAt(state, deps.settings.tokenTtlMs, nowMs);
    const store = await deps.joinMaterial();
    signal.throwIfAborted();
    const published = await store.publish(
      lease.cluster,
      material,
      record.kmsKeyId === undefined ? {} : { kmsKeyId: record.kmsKeyId },
    );
    signal.throwIfAborted();
    const pki = record.joinMaterial?.versions?.pki;
    const at = new Date(nowMs).toISOString();
    const restoredFrom = {
      key: snapshot.key,
      revision: snapshot.revision,
      takenAt: snapshot.takenAt,
      restoredAt: at,
      by: lease.owner,
    };
    await deps.recovery.markRestored(
      lease,
      state.get('lostFence'),
      {
        initialized: { by: lease.owner, at, fence: lease.fence },
        joinMaterial: {
          ...stamp,
          versions: { ...publishedVersions(lease.cluster, published), ...(pki === undefined ? {} : { pki }) },
        },
        restoredFrom,
      },
      signal,
    );
    deps.logger.info(
      { cluster: lease.cluster, fence: lease.fence, restoredFrom },
      `restored cluster ${lease.cluster} from ${snapshot.key} (revision ${snapshot.revision})`,
    );
    return undefined;
  },
};
