/**
 * The port through which masters publish, and leaving workers read, the node-leave credential
 * (`kboot/<cluster>/node-leave`). The adapter is secrets-node-leave.ts, with the AWS adapters.
 */

import type { NodeLeaveSecret } from './node-leave-credential.js';

export interface NodeLeaveStore {
  /** Undefined when the secret does not exist (yet). */
  read(cluster: string): Promise<NodeLeaveSecret | undefined>;
  /** A new AWSCURRENT version, creating the secret (tagged for the cluster) when missing. */
  publish(cluster: string, secret: NodeLeaveSecret, options?: { kmsKeyId?: string }): Promise<void>;
}
