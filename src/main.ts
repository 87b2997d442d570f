/**
 * The entry point: runs the CLI (src/cli/run.ts) and exits with its code. The only
 * `process.exit` in kboot is here.
 *
 * A bare `kboot --version` (or `-V`) is answered before the CLI loads: commander and every
 * command's definition (and the node:child_process, net and stream modules commander requires)
 * cost about a third of that command's start-up. The answer is the one commander gives.
 */

import { buildInfo } from './core/build-info.js';
import { redactText } from './core/secrets.js';

const VERSION_FLAGS = new Set(['--version', '-V']);

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 3 && VERSION_FLAGS.has(argv[2] as string)) {
    process.stdout.write(`${buildInfo().version}\n`);
    return 0;
  }
  const { runCli } = await import('./cli/run.js');
  return runCli(argv);
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`kboot: internal error: ${redactText(String(error))}\n`);
    process.exit(1);
  },
);
