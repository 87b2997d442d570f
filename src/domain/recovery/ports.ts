/**
 * What the recovery of a lost control plane asks of the world beyond the boot flows' ports: a
 * probe of a TLS endpoint against one of the cluster's CAs (adapter:
 * src/adapters/etcd/tls-probe.ts), and the restore of an etcd snapshot into a data directory
 * (the same local side as `kboot etcd restore`).
 */

import type { SnapshotObjects, SnapshotRecords } from '../backup/ports.js';
import type { RestoreLocal } from '../flows/etcd-restore.js';
import type { Initialized, JoinMaterialStamp, RestoredFrom } from '../state/cluster-record.js';
import type { LeaseRef } from '../state/lease.js';
import type { ProbeResult } from './decide.js';

export interface EndpointProbe {
  /**
   * Whether a server at `url` (https://host:port) completes a TLS handshake with a certificate
   * `caPem` signed, within `timeoutMs`. Never throws for a network failure: it says what happened.
   */
  probe(url: string, caPem: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult>;
}

/** The snapshots of the cluster's backup bucket and the local restore (undefined: no bucket configured). */
export interface RecoveryBackup {
  records: SnapshotRecords;
  objects: SnapshotObjects;
  local: RestoreLocal;
}

export interface RecoveryPorts {
  probe: EndpointProbe;
  backup(): Promise<RecoveryBackup | undefined>;
}

/** The fenced write that makes a restored cluster the cluster (adapter: dynamodb-mark-restored.ts). */
export interface RestoredStamp {
  initialized: Initialized;
  joinMaterial: JoinMaterialStamp;
  restoredFrom: RestoredFrom;
}

export interface RecoveryWiring extends RecoveryPorts {
  /**
   * Under the bootstrap lease, and only if the record is still the one initialized under
   * `previousFence`: sets `initialized`, `joinMaterial` and `restoredFrom` in one transaction.
   */
  markRestored(
    lease: LeaseRef,
    previousFence: number,
    stamp: RestoredStamp,
    signal: AbortSignal,
  ): Promise<void>;
}
