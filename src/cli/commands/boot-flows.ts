import { type Command, Option } from 'commander';
import { dryRunOption, lazyAction, notAvailable, type Runtime } from '../define.js';

function waitOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--wait-timeout <duration>', 'how long to wait for the cluster to be initialized').default(
        '30m',
      ),
    )
    .addOption(
      new Option('--config <path>', 'node config file (resolved under --root)').default(
        '/etc/kboot/config.yaml',
      ),
    )
    .addOption(dryRunOption());
}

export function registerBootFlows(program: Command, runtime: Runtime): void {
  waitOptions(
    program
      .command('boot')
      .description(
        'join or initialize the cluster this instance is tagged for, picking the flow from its role tag',
      ),
  ).action(lazyAction(runtime, notAvailable('boot')));

  waitOptions(
    program
      .command('bootstrap-master')
      .description('initialize the cluster on the first control-plane instance'),
  ).action(lazyAction(runtime, notAvailable('bootstrap-master')));

  waitOptions(
    program.command('join-master').description('join this instance to the cluster as a control-plane member'),
  ).action(lazyAction(runtime, notAvailable('join-master')));

  waitOptions(
    program.command('join-node').description('join this instance to the cluster as a worker'),
  ).action(lazyAction(runtime, notAvailable('join-node')));
}
