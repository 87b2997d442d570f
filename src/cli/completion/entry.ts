import type { Command } from 'commander';
import { completeWords } from './complete.js';
import { formatCandidates } from './render.js';
import { commandTree } from './tree.js';

/** `kboot __complete <shell> -- <words…>`: candidates for the last word, one per line. */
export function completeFromArgv(program: Command, args: readonly string[]): string {
  const shell = args[0] ?? 'bash';
  const separator = args.indexOf('--');
  const words = separator >= 0 ? args.slice(separator + 1) : args.slice(1);
  const candidates = completeWords(commandTree(program), words.length === 0 ? [''] : words);
  const text = formatCandidates(shell, candidates);
  return text === '' ? '' : `${text}\n`;
}
