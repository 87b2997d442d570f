/**
 * Completion candidates for the words typed so far (the last one is the word being completed).
 * Pure: the shells' scripts call `kboot __complete <shell> -- <words…>` and print what this returns.
 */

import type { CommandNode, OptionNode } from './tree.js';

export interface Candidate {
  value: string;
  description: string;
}

function findOption(options: readonly OptionNode[], word: string): OptionNode | undefined {
  const name = word.split('=')[0];
  return options.find((option) => option.long === name || option.short === name);
}

export function completeWords(root: CommandNode, words: readonly string[]): Candidate[] {
  const current = words[words.length - 1] ?? '';
  const typed = words.slice(0, -1);
  let command = root;
  const globalOptions = root.options;
  let expectingValueOf: OptionNode | undefined;

  for (const word of typed) {
    if (expectingValueOf !== undefined) {
      expectingValueOf = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const option = findOption([...command.options, ...globalOptions], word);
      if (option?.takesValue && !word.includes('=')) expectingValueOf = option;
      continue;
    }
    const sub = command.subcommands.find((candidate) => candidate.name === word);
    if (sub !== undefined) command = sub;
  }

  let candidates: Candidate[];
  if (expectingValueOf !== undefined) {
    candidates = expectingValueOf.choices.map((value) => ({ value, description: '' }));
  } else if (current.startsWith('-')) {
    const seen = new Set<string>();
    candidates = [];
    for (const option of [...command.options, ...(command === root ? [] : globalOptions)]) {
      const flag = option.long ?? option.short;
      if (flag === undefined || seen.has(flag)) continue;
      seen.add(flag);
      candidates.push({ value: flag, description: option.description });
    }
  } else {
    candidates = [
      ...command.subcommands.map((sub) => ({ value: sub.name, description: sub.description })),
      ...command.argumentChoices.map((value) => ({ value, description: '' })),
    ];
  }
  return candidates.filter((candidate) => candidate.value.startsWith(current));
}
