import type { Command } from 'commander';
import { COMMAND_DEFAULTS } from '../defaults.js';
import {
  configOption,
  defaultedOption,
  dryRunOption,
  lazyAction,
  outputOption,
  type Runtime,
} from '../define.js';

function flowOptions(command: Command): Command {
  return command
    .addOption(
      defaultedOption(
        '--wait-timeout <duration>',
        'how long to wait for the cluster to be initialized',
        COMMAND_DEFAULTS.boot.waitTimeout,
      ),
    )
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption());
}

export function registerBootFlows(program: Command, runtime: Runtime): void {
  flowOptions(
    program
      .command('boot')
      .description(
        'join or initialize the cluster this instance is tagged for, picking the flow from its role tag',
      ),
  ).action(lazyAction(runtime, async () => (await import('../handlers/boot-flows.js')).bootCommand));

  flowOptions(
    program
      .command('bootstrap-master')
      .description('initialize the cluster on the first control-plane instance'),
  ).action(
    lazyAction(runtime, async () => (await import('../handlers/boot-flows.js')).bootstrapMasterCommand),
  );

  flowOptions(
    program.command('join-master').description('join this instance to the cluster as a control-plane member'),
  ).action(lazyAction(runtime, async () => (await import('../handlers/boot-flows.js')).joinMasterCommand));

  flowOptions(
    program.command('join-node').description('join this instance to the cluster as a worker'),
  ).action(lazyAction(runtime, async () => (await import('../handlers/boot-flows.js')).joinNodeCommand));

  program
    .command('boot-failed')
    .description(
      'run by kboot-boot-failed.service when kboot-boot.service failed for good: log and record why, and when its retries are spent mark the instance unhealthy so its Auto Scaling group replaces it',
    )
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/boot-failed.js')).bootFailedCommand));
}
