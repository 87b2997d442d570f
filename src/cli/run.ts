/**
 * The CLI proper, loaded by src/main.ts for every command but a bare `kboot --version`: parses
 * argv, runs the command, and turns an error into a single line on stderr and an exit code
 * (main.ts exits with it).
 */

import { CommanderError } from 'commander';
import { InterruptedError, isKbootError, toKbootError } from '../core/errors.js';
import { buildProgram } from './program.js';
import { commandPath, fromCommanderError, reportError } from './report.js';

export async function runCli(argv: readonly string[]): Promise<number> {
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
