/**
 * The names of a cluster's three Secrets Manager secrets (DESIGN.md "Join material"). Kept apart
 * so IAM policies can give workers the first only, masters all three, operators the last.
 */

export const SECRET_ID_PREFIX = 'kboot';

/** API endpoint, bootstrap token, CA cert hashes: readable by workers and masters. */
export function joinSecretId(cluster: string): string {
  return `${SECRET_ID_PREFIX}/${cluster}/join`;
}

/** The certificate key a new master needs: readable by masters only. */
export function controlPlaneSecretId(cluster: string): string {
  return `${SECRET_ID_PREFIX}/${cluster}/control-plane`;
}

/** The admin kubeconfig: for operators and masters. */
export function adminConfSecretId(cluster: string): string {
  return `${SECRET_ID_PREFIX}/${cluster}/admin.conf`;
}

/** The cluster PKI (CAs and service-account keys) kept outside etcd: readable by masters only. */
export function pkiSecretId(cluster: string): string {
  return `${SECRET_ID_PREFIX}/${cluster}/pki`;
}
