/**
 * The entry point: parses argv, runs the command, and is the one place that turns an error into
 * a single line on stderr and an exit code. The only `process.exit` in kboot is here.
 */

import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { type KbootError, InterruptedError, isKbootError, toKbootError, UsageError } from './core/errors.js';
import { redactText } from './core/secrets.js';

const COMMANDER_DONE = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

function fromCommanderError(error: CommanderError, argv: readonly string[]): KbootError | undefined {
  if (COMMANDER_DONE.has(error.code) || error.exitCode === 0) return undefined;
  const message = error.message.replace(/^error:\s*/, '');
  const words = argv.slice(2).filter((word) => !word.startsWith('-'));
  return new UsageError(message, {
    hint: `run 'kboot ${words.slice(0, 1).join(' ')} --help'`.replace('  ', ' '),
  });
}

function wantsDebug(argv: readonly string[]): boolean {
  const index = argv.findIndex((word) => word === '--log-level' || word.startsWith('--log-level='));
  const level = index < 0 ? process.env.KBOOT_LOG_LEVEL : (argv[index]?.split('=')[1] ?? argv[index + 1]);
  return level === 'debug' || level === 'trace';
}

function wantsJsonLogs(argv: readonly string[]): boolean {
  const index = argv.findIndex((word) => word === '--log-format' || word.startsWith('--log-format='));
  const format = index < 0 ? process.env.KBOOT_LOG_FORMAT : (argv[index]?.split('=')[1] ?? argv[index + 1]);
  return format === undefined ? !process.stderr.isTTY : format === 'json';
}

/** One line that says what was wrong and what to do; the stack only at debug. */
export function reportError(error: KbootError, argv: readonly string[]): void {
  const debug = wantsDebug(argv);
  if (wantsJsonLogs(argv)) {
    const line: Record<string, unknown> = {
      level: 'error',
      time: new Date().toISOString(),
      msg: error.message,
      code: error.code,
      exitCode: error.exitCode,
    };
    if (error.hint !== undefined) line.hint = error.hint;
    if (debug) line.stack = error.stack;
    if (debug && error.cause !== undefined) line.cause = String((error.cause as Error)?.stack ?? error.cause);
    process.stderr.write(`${redactText(JSON.stringify(line))}\n`);
    return;
  }
  const hint = error.hint === undefined ? '' : ` (${error.hint})`;
  process.stderr.write(`${redactText(`kboot: error: ${error.message}${hint}`)}\n`);
  if (debug) {
    process.stderr.write(`${redactText(error.stack ?? '')}\n`);
    if (error.cause !== undefined) {
      process.stderr.write(
        `caused by: ${redactText(String((error.cause as Error)?.stack ?? error.cause))}\n`,
      );
    }
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    controller.abort(
      new InterruptedError(`interrupted by ${signal}`, { hint: 'run the command again to resume' }),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const program = buildProgram({ signal: controller.signal });
  if (argv[2] === '__complete') {
    const { completeFromArgv } = await import('./cli/completion/entry.js');
    process.stdout.write(completeFromArgv(program, argv.slice(3)));
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    const failure =
      error instanceof CommanderError
        ? fromCommanderError(error, argv)
        : isKbootError(error)
          ? error
          : toKbootError(error);
    if (failure === undefined) return 0;
    reportError(failure, argv);
    return failure.exitCode;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`kboot: internal error: ${redactText(String(error))}\n`);
    process.exit(1);
  },
);
