/**
 * The port through which flows publish and read join material. The Secrets Manager adapter is
 * src/adapters/aws/secrets-join-material.ts.
 */

import type { Secret } from '../../core/secrets.js';
import type { ControlPlaneSecret, JoinMaterialUpdate, JoinSecret } from './material.js';

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
  readJoin(cluster: string): Promise<JoinSecret>;
  readControlPlane(cluster: string): Promise<ControlPlaneSecret>;
  readAdminConf(cluster: string): Promise<Secret<string>>;
}
