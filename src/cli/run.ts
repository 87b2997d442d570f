/**
 * The CLI proper, loaded by src/main.ts for every command but a bare `kboot --version`: parses
 * argv, runs the command, and turns an error into a single line on stderr and an exit code
 * (main.ts exits with it).
 *
 * SIGTERM and SIGINT abort the command's signal: a flow stops its step (its child gets SIGTERM,
 * then SIGKILL), undoes what it did within its budget, releases its leases and exits 130. The
 * listeners stay installed for the whole run and until main exits (`process.on`, never `once`,
 * never removed): with none left, the signal-exit handler execa installs would re-raise the
 * signal and kill kboot before it undoes anything, or after it finished, in place of its exit
 * code. A second signal stops at once, saying what was left undone.
 */

import { CommanderError } from 'commander';
import { ExitCode, InterruptedError, isKbootError, toKbootError } from '../core/errors.js';
import { buildProgram } from './program.js';
import { commandPath, fromCommanderError, reportError } from './report.js';

export async function runCli(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let forceExit: (code: number) => void = () => {};
  const forced = new Promise<number>((resolve) => {
    forceExit = resolve;
  });
  let finished = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // The command is done and main is exiting with its code: a signal now changes nothing.
    if (finished) return;
    if (!controller.signal.aborted) {
      controller.abort(
        new InterruptedError(`interrupted by ${signal}`, { hint: 'run the command again to resume' }),
      );
      return;
    }
    process.stderr.write(
      `kboot: error: interrupted again by ${signal}: stopping now, without finishing the undo (see the log for what was left)\n`,
    );
    forceExit(ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The listeners stay until main's process.exit: removed earlier, a signal between the end of
  // the command and the exit would kill kboot by the signal instead of exiting with the code.
  try {
    return await Promise.race([runProgram(argv, controller.signal), forced]);
  } finally {
    finished = true;
  }
}

async function runProgram(argv: readonly string[], signal: AbortSignal): Promise<number> {
  const program = buildProgram({ signal });
  if (argv[2] === '__complete') {
    const { completeFromArgv } = await import('./completion/entry.js');
    process.stdout.write(completeFromArgv(program, argv.slice(3)));
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    const failure =
      error instanceof CommanderError
        ? fromCommanderError(error, commandPath(program, argv))
        : isKbootError(error)
          ? error
          : toKbootError(error);
    if (failure === undefined) return 0;
    reportError(failure, argv, process.env, (line) => process.stderr.write(line));
    return failure.exitCode;
  }
}
