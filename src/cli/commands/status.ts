import { type Command, Option } from 'commander';
import { lazyAction, outputOption, type Runtime } from '../define.js';

export function registerStatus(program: Command, runtime: Runtime): void {
  program
    .command('status')
    .description(
      "show a cluster's state: endpoint, version, CIDRs, initialization, lock holder, join material",
    )
    .addOption(
      new Option('--cluster <name>', "cluster name (default: this instance's cluster, or all clusters)"),
    )
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/status.js')).status));
}
