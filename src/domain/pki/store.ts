/**
 * The port through which the first master keeps the cluster PKI in Secrets Manager and a
 * recovering one reads it back (`kboot/<cluster>/pki`, masters only). Adapter:
 * src/adapters/aws/secrets-pki.ts.
 */

import type { PublishedSecret, PublishOptions } from '../join/store.js';
import type { PkiBundle } from './bundle.js';

export interface PkiSecretStore {
  /** A new AWSCURRENT version of the secret, creating it (with the cluster's tags and KMS key) when missing. */
  write(cluster: string, bundle: PkiBundle, options?: PublishOptions): Promise<PublishedSecret>;
  /** The version the cluster record names (else AWSCURRENT); a missing secret throws JoinMaterialMissingError. */
  read(cluster: string, versionId?: string): Promise<PkiBundle>;
}
