/**
 * The cluster PKI in AWS Secrets Manager, `kboot/<cluster>/pki` (the PkiSecretStore port,
 * src/domain/pki/store.ts), written and read as the join material's secrets are
 * (SecretsJoinMaterialStore: PutSecretValue, else CreateSecret with the cluster's tags and KMS
 * key, and PutSecretValue again when another master created it meanwhile; GetSecretValue of the
 * version the cluster record names). The value goes to the SDK and nowhere else: logs and errors
 * carry the secret id only.
 */

import type { Logger } from '../../core/logger.js';
import { pkiSecretId } from '../../domain/join/secret-ids.js';
import type { PublishedSecret, PublishOptions } from '../../domain/join/store.js';
import { type PkiBundle, parsePkiBundle, serializePkiBundle } from '../../domain/pki/bundle.js';
import type { PkiSecretStore } from '../../domain/pki/store.js';
import { SecretsJoinMaterialStore, type SecretsManagerSource } from './secrets-join-material.js';

export interface SecretsPkiStoreSettings {
  clients: SecretsManagerSource;
  logger: Logger;
  signal?: AbortSignal;
}

export class SecretsPkiStore implements PkiSecretStore {
  readonly #secrets: SecretsJoinMaterialStore;

  constructor(settings: SecretsPkiStoreSettings) {
    this.#secrets = new SecretsJoinMaterialStore(settings);
  }

  write(cluster: string, bundle: PkiBundle, options: PublishOptions = {}): Promise<PublishedSecret> {
    return this.#secrets.publishSecret(
      cluster,
      {
        secretId: pkiSecretId(cluster),
        text: serializePkiBundle(bundle).reveal(),
        description: `kboot: the CAs and service-account keys of cluster ${cluster} (for restoring it)`,
      },
      options.kmsKeyId,
    );
  }

  async read(cluster: string, versionId?: string): Promise<PkiBundle> {
    const secretId = pkiSecretId(cluster);
    return parsePkiBundle(await this.#secrets.readSecret(cluster, secretId, versionId), `secret ${secretId}`);
  }
}
