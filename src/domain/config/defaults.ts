/**
 * Defaults the domain and the command line share: where the node config is read from (under
 * --root) and the name of the state table. No imports, so the command tree (help, completion)
 * reads them at start-up without loading the node config's parser.
 */

export const DEFAULT_CONFIG_PATH = '/etc/kboot/config.yaml';

export const DEFAULT_TABLE = 'kboot';

/** `kboot rotate`'s policy when its flags leave it out (the rotate plan's checks name them too). */
export const ROTATE_DEFAULTS = {
  /** Lifetime of a new bootstrap token; also the first master's token. */
  tokenTtl: '24h',
  /** Renew the token when it has less life left than this. */
  renewBefore: '8h',
  /** Re-upload the certificates when the key has less life left than this (of kubeadm's 2h). */
  certificateKeyRenewBefore: '30m',
  /** How long to wait for a joining master before replacing the certificate key. */
  joinWait: '15m',
} as const;

/**
 * The node config's timeouts when it leaves them out (docs/nodes.md); `timeouts.lease` defaults
 * to DEFAULT_LEASE_MS (state/lease.ts). `--wait-timeout` of the boot flows comes before
 * `timeouts.waitForInit`.
 */
export const NODE_CONFIG_TIMEOUT_DEFAULTS = {
  waitForInit: '30m',
  kubeadm: '15m',
  addons: '2m',
} as const;
