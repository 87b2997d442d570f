/**
 * Defaults the domain and the command line share: where the node config is read from (under
 * --root) and the name of the state table. No imports, so the command tree (help, completion)
 * reads them at start-up without loading the node config's parser.
 */

export const DEFAULT_CONFIG_PATH = '/etc/kboot/config.yaml';

export const DEFAULT_TABLE = 'kboot';
