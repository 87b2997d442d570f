import type { Command } from 'commander';
import { lazyAction, outputOption, type Runtime } from '../define.js';

export function registerIdentity(program: Command, runtime: Runtime): void {
  program
    .command('identity')
    .description('show who this instance is: cluster and role from its tags, instance facts from IMDS')
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/identity.js')).identity));
}
