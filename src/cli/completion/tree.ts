/** A plain-data view of the registered command tree: what completion needs, nothing more. */

import type { Command } from 'commander';

export interface OptionNode {
  long: string | undefined;
  short: string | undefined;
  description: string;
  takesValue: boolean;
  choices: readonly string[];
}

export interface CommandNode {
  name: string;
  description: string;
  options: OptionNode[];
  subcommands: CommandNode[];
  /** Choices of the first positional argument, if it is enumerated. */
  argumentChoices: readonly string[];
}

const HELP: OptionNode = {
  long: '--help',
  short: '-h',
  description: 'show help',
  takesValue: false,
  choices: [],
};

export function commandTree(command: Command): CommandNode {
  const options: OptionNode[] = command.options
    .filter((option) => !option.hidden)
    .map((option) => ({
      long: option.long,
      short: option.short,
      description: option.description,
      takesValue: option.required || option.optional,
      choices: option.argChoices ?? [],
    }));
  options.push(HELP);
  const firstArgument = command.registeredArguments[0];
  return {
    name: command.name(),
    description: command.description(),
    options,
    subcommands: command.commands.map(commandTree),
    argumentChoices: firstArgument?.argChoices ?? [],
  };
}
