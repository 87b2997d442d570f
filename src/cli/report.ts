/**
 * How a failure reaches the user: one line on stderr saying what was wrong and what to do (a
 * JSON log line when logs are JSON), the stack only at debug, every byte through redactText.
 */

import type { Command, CommanderError } from 'commander';
import { type KbootError, UsageError } from '../core/errors.js';
import { redactJsonLine, redactText } from '../core/secrets.js';

const COMMANDER_DONE = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/** "cidr plan" for `kboot cidr plan --bad`: the deepest command the words name. */
export function commandPath(program: Command, argv: readonly string[]): string {
  const path: string[] = [];
  let command = program;
  for (const word of argv.slice(2)) {
    if (word.startsWith('-')) continue;
    const sub = command.commands.find((candidate) => candidate.name() === word);
    if (sub === undefined) break;
    path.push(word);
    command = sub;
  }
  return path.join(' ');
}

/** A commander parse failure as a UsageError; undefined for --help and --version. */
export function fromCommanderError(error: CommanderError, path: string): KbootError | undefined {
  if (COMMANDER_DONE.has(error.code) || error.exitCode === 0) return undefined;
  const message = error.message.replace(/^error:\s*/, '');
  return new UsageError(message, { hint: `run 'kboot ${path === '' ? '' : `${path} `}--help'` });
}

function flagValue(argv: readonly string[], flag: string): string | undefined {
  const index = argv.findIndex((word) => word === flag || word.startsWith(`${flag}=`));
  if (index < 0) return undefined;
  const word = argv[index] as string;
  return word.includes('=') ? word.slice(flag.length + 1) : argv[index + 1];
}

function causeText(error: KbootError): string | undefined {
  if (error.cause === undefined) return undefined;
  return error.cause instanceof Error ? (error.cause.stack ?? error.cause.message) : String(error.cause);
}

/** Writes the one line (plus the stack at debug level). */
export function reportError(
  error: KbootError,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
  stderrIsTty = process.stderr.isTTY === true,
): void {
  const level = flagValue(argv, '--log-level') ?? env.KBOOT_LOG_LEVEL;
  const debug = level === 'debug' || level === 'trace';
  const format = flagValue(argv, '--log-format') ?? env.KBOOT_LOG_FORMAT;
  const json = format === undefined ? !stderrIsTty : format === 'json';
  if (json) {
    const line: Record<string, unknown> = {
      level: 'error',
      time: new Date().toISOString(),
      msg: error.message,
      code: error.code,
      exitCode: error.exitCode,
    };
    if (error.hint !== undefined) line.hint = error.hint;
    if (debug) {
      line.stack = error.stack;
      line.cause = causeText(error);
    }
    write(`${redactJsonLine(JSON.stringify(line))}\n`);
    return;
  }
  const hint = error.hint === undefined ? '' : ` (${error.hint})`;
  write(`${redactText(`kboot: error: ${error.message}${hint}`)}\n`);
  if (debug) {
    write(`${redactText(error.stack ?? '')}\n`);
    const cause = causeText(error);
    if (cause !== undefined) write(`caused by: ${redactText(cause)}\n`);
  }
}
