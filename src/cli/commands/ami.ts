import { type Command, Option } from 'commander';
import { lazyAction, outputOption, type Runtime } from '../define.js';

export const AMI_ARCHES = ['x86_64', 'arm64'] as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerAmi(program: Command, runtime: Runtime): void {
  program
    .command('ami')
    .description('find the newest available AMI matching tag filters')
    .addOption(new Option('--tag <key=value>', 'tag filter (repeatable)').argParser(collect))
    .addOption(new Option('--owner <id>', "image owner: an account id or 'self'"))
    .addOption(new Option('--arch <arch>', 'architecture').choices(AMI_ARCHES))
    .addOption(new Option('--kubernetes-version <version>', 'match the kboot.io/kubernetes-version tag'))
    .addOption(new Option('--all', 'list every match, newest first'))
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/ami.js')).ami));
}
