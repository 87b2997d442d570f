/**
 * The port through which flows publish and read join material. The Secrets Manager adapter is
 * secrets-join-material.ts, with the AWS adapters.
 */

import type { Secret } from '../../core/secrets.js';
import type { SecretVersions } from '../state/cluster-record.js';
import type { ControlPlaneSecret, JoinMaterialUpdate, JoinSecret } from './material.js';
import { adminConfSecretId, controlPlaneSecretId, joinSecretId } from './secret-ids.js';

export interface PublishOptions {
  /** KMS key (id, ARN or alias) to encrypt secrets with when they are created; else the AWS-managed key. */
  kmsKeyId?: string;
}

export interface PublishedSecret {
  secretId: string;
  versionId: string | undefined;
  /** True when this publish created the secret, false when it added a version. */
  created: boolean;
}

export interface JoinMaterialStore {
  /**
   * Writes each part given as the new current version of its secret, creating the secret when
   * missing. Order: control-plane, admin.conf, join — so a reader who finds the join secret also
   * finds the others.
   */
  publish(
    cluster: string,
    material: JoinMaterialUpdate,
    options?: PublishOptions,
  ): Promise<PublishedSecret[]>;
  /**
   * Reads each secret at `versionId` — the version the cluster record names (joinMaterial.versions,
   * recorded under the lease's fence) — or, when the record names none, its AWSCURRENT version.
   */
  readJoin(cluster: string, versionId?: string): Promise<JoinSecret>;
  readControlPlane(cluster: string, versionId?: string): Promise<ControlPlaneSecret>;
  readAdminConf(cluster: string, versionId?: string): Promise<Secret<string>>;
}

/** The version ids `publish` wrote, by part, for the record (joinMaterial.versions). */
export function publishedVersions(cluster: string, published: readonly PublishedSecret[]): SecretVersions {
  const versions: SecretVersions = {};
  for (const { secretId, versionId } of published) {
    if (versionId === undefined) continue;
    if (secretId === joinSecretId(cluster)) versions.join = versionId;
    else if (secretId === controlPlaneSecretId(cluster)) versions.controlPlane = versionId;
    else if (secretId === adminConfSecretId(cluster)) versions.adminConf = versionId;
  }
  return versions;
}
