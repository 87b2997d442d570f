/**
 * The port through which the first master publishes the OIDC documents. The S3 adapter is
 * s3-oidc.ts, with the AWS adapters.
 */

import type { OidcObject } from './documents.js';

/** The service account public key kubeadm writes; kube-apiserver serves its JWKS from it. */
export const SERVICE_ACCOUNT_PUBLIC_KEY_PATH = '/etc/kubernetes/pki/sa.pub';

export interface OidcPublisher {
  /**
   * Writes each object to the bucket as `application/json`, in order. Idempotent: the same
   * objects give the same bucket content.
   */
  publish(bucket: string, objects: readonly OidcObject[]): Promise<void>;
}
