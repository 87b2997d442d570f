/**
 * The entry point: parses argv, runs the command, and is the one place that turns an error into
 * a single line on stderr and an exit code. The only `process.exit` in kboot is here.
 */

import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { commandPath, fromCommanderError, reportError } from './cli/report.js';
import { InterruptedError, isKbootError, toKbootError } from './core/errors.js';
import { redactText } from './core/secrets.js';

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
        ? fromCommanderError(error, commandPath(program, argv))
        : isKbootError(error)
          ? error
          : toKbootError(error);
    if (failure === undefined) return 0;
    reportError(failure, argv, process.env, (line) => process.stderr.write(line));
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
