/**
 * The command tree. Registration only: names, options, help. Nothing here imports a handler,
 * an AWS client or a heavy library, so building the program costs a few milliseconds.
 */

import { Command } from 'commander';
import { buildInfo } from '../core/build-info.js';
import { registerAmi } from './commands/ami.js';
import { registerBootFlows } from './commands/boot-flows.js';
import { registerCidr } from './commands/cidr.js';
import { registerCompletion } from './commands/completion.js';
import { registerDayTwo } from './commands/day-two.js';
import { registerEtcd } from './commands/etcd.js';
import { registerIdentity } from './commands/identity.js';
import { registerOperatorTools } from './commands/operator.js';
import { registerStatus } from './commands/status.js';
import { registerVersion } from './commands/version.js';
import { globalOptions, type Runtime } from './define.js';

export function buildProgram(runtime: Runtime): Command {
  const program = new Command('kboot')
    .description('bootstrap self-managed kubeadm Kubernetes clusters on EC2')
    .version(buildInfo().version, '-V, --version', 'print the kboot version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  for (const option of globalOptions()) program.addOption(option);

  registerBootFlows(program, runtime);
  registerDayTwo(program, runtime);
  registerEtcd(program, runtime);
  registerStatus(program, runtime);
  registerIdentity(program, runtime);
  registerOperatorTools(program, runtime);
  registerAmi(program, runtime);
  registerCidr(program, runtime);
  registerCompletion(program, runtime);
  registerVersion(program, runtime);

  // Every subcommand reports usage errors through the entry point, never by exiting itself.
  const applyToTree = (command: Command): void => {
    command.exitOverride();
    command.configureOutput({ writeErr: () => {}, outputError: () => {} });
    for (const sub of command.commands) applyToTree(sub);
  };
  applyToTree(program);
  return program;
}
