import { type Command, Option } from 'commander';
import { dryRunOption, lazyAction, notAvailable, type Runtime } from '../define.js';

export function registerDayTwo(program: Command, runtime: Runtime): void {
  program
    .command('rotate')
    .description('renew join material in Secrets Manager before it lapses (run on control-plane instances)')
    .addOption(dryRunOption())
    .action(lazyAction(runtime, notAvailable('rotate')));

  program
    .command('leave')
    .description('drain this node, leave etcd, reset and complete the Auto Scaling lifecycle action')
    .addOption(new Option('--drain-timeout <duration>', 'deadline for draining the node').default('5m'))
    .addOption(dryRunOption())
    .action(lazyAction(runtime, notAvailable('leave')));
}
