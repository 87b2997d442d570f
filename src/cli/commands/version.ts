import type { Command } from 'commander';
import { lazyAction, outputOption, type Runtime } from '../define.js';

export function registerVersion(program: Command, runtime: Runtime): void {
  program
    .command('version')
    .description('print the kboot version, commit, Node.js version, build date and target arch')
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/version.js')).version));
}
