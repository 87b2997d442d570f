import { Argument, type Command } from 'commander';
import { SHELLS } from '../completion/render.js';
import { lazyAction, type Runtime } from '../define.js';

export function registerCompletion(program: Command, runtime: Runtime): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'shell to complete for').choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(kboot completion bash)            # bash, this shell
  kboot completion zsh > "\${fpath[1]}/_kboot" # zsh
  kboot completion fish > ~/.config/fish/completions/kboot.fish`,
    )
    .action(lazyAction(runtime, async () => (await import('../handlers/completion.js')).completion));
}
