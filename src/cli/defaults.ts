/**
 * The default of every command option that has one, as a user would type it, by command and
 * option (commander's attribute name: `--drain-timeout` is `drainTimeout`). The help text shows
 * them (commands/*.ts) and the handlers parse `flag ?? default` from the same entries;
 * test/unit/cli/defaults.test.ts checks that each appears in its option's help. Imports only
 * constants, as every command's registration reads it at start-up.
 */

import { LEAVE_LIFECYCLE_HOOK } from '../domain/cluster/lifecycle-hook.js';
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_TABLE,
  NODE_CONFIG_TIMEOUT_DEFAULTS,
  ROTATE_DEFAULTS,
} from '../domain/config/defaults.js';

/** boot, bootstrap-master, join-master and join-node. */
const BOOT_FLOW = {
  /** Unless the node config sets timeouts.waitForInit. */
  waitTimeout: NODE_CONFIG_TIMEOUT_DEFAULTS.waitForInit,
  config: DEFAULT_CONFIG_PATH,
} as const;

export const COMMAND_DEFAULTS = {
  /** The global options. */
  kboot: { table: DEFAULT_TABLE },
  boot: BOOT_FLOW,
  'bootstrap-master': BOOT_FLOW,
  'join-master': BOOT_FLOW,
  'join-node': BOOT_FLOW,
  rotate: {
    renewBefore: ROTATE_DEFAULTS.renewBefore,
    tokenTtl: ROTATE_DEFAULTS.tokenTtl,
    certificateKeyRenewBefore: ROTATE_DEFAULTS.certificateKeyRenewBefore,
    waitTimeout: ROTATE_DEFAULTS.joinWait,
    config: DEFAULT_CONFIG_PATH,
  },
  cleanup: { waitTimeout: '5m', config: DEFAULT_CONFIG_PATH },
  leave: {
    drainTimeout: '5m',
    lifecycleHook: LEAVE_LIFECYCLE_HOOK.name,
    pollInterval: '5s',
    config: DEFAULT_CONFIG_PATH,
  },
  'config check': { config: DEFAULT_CONFIG_PATH },
  'cidr plan': { azs: '3' },
  'cluster create': { parallelism: '4' },
  'cluster destroy': { parallelism: '4' },
} as const;
