/**
 * Runs kubectl (and nothing else) as a child process with execa, against one kubeconfig given as
 * `--kubeconfig` (never the ambient KUBECONFIG or ~/.kube/config). Secrets never go in argv:
 * manifests and anything secret go through stdin or a 0600 file, and an argument that looks like
 * a secret is refused before kubectl starts. stdout is returned as it is (it can hold a token:
 * the caller decides what to log); stderr is logged at debug through redaction, and its tail
 * ends the error message on failure.
 */

import { execa } from 'execa';
import { InternalError, KubectlError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/secrets.js';
import type { KubectlRunner } from '../../domain/ports/kubectl.js';
import { childEnvironment } from './child-env.js';

export interface KubectlRunnerSettings {
  /** The kubectl executable (KBOOT_KUBECTL, else `kubectl` on PATH). */
  command: string;
  logger: Logger;
  /** kboot's environment: kubectl gets only what child-env.ts lets through, never AWS_*. */
  env: NodeJS.ProcessEnv;
}

const TAIL_LINES = 3;
/** kubectl's own flags that take a value, so the subcommand words can be told from flag values. */
const VALUE_FLAGS = new Set(['-n', '--namespace', '-f', '--filename', '-o', '--output', '-l', '--selector']);

/** The first two command words, flags and their values skipped: `apply`, `create token`, `get nodes`. */
export function kubectlSubcommand(args: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i += 1) {
    const arg = args[i] as string;
    if (arg.startsWith('-')) {
      if (VALUE_FLAGS.has(arg)) i += 1;
      continue;
    }
    words.push(arg);
  }
  return words.join(' ');
}

/** Refuses argv that would carry a secret (a token, a key, a kubeconfig's credentials). */
function assertNoSecret(args: readonly string[]): void {
  const leaking = args.findIndex((arg) => redactText(arg) !== arg);
  if (leaking >= 0) {
    throw new InternalError(
      `refusing to run kubectl with a secret-looking value in its arguments (argument ${leaking + 1})`,
      { hint: 'pass secrets to kubectl through stdin or a 0600 file; report this as a bug' },
    );
  }
}

function describeFailure(
  result: { timedOut: boolean; isCanceled: boolean; exitCode?: number; code?: string; shortMessage?: string },
  timeoutMs: number,
): string {
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)}s`;
  if (result.isCanceled) return 'was stopped';
  if (result.exitCode === undefined)
    return `could not run (${result.code ?? result.shortMessage ?? 'unknown error'})`;
  return `exited ${result.exitCode}`;
}

export function kubectlRunner(settings: KubectlRunnerSettings): KubectlRunner {
  return {
    async run(args, options) {
      const { logger } = settings;
      assertNoSecret(args);
      const subcommand = kubectlSubcommand(args);
      logger.debug({ args }, `running kubectl ${subcommand}`);
      const argv = ['--kubeconfig', options.kubeconfigPath, ...args];
      const { env, refused } = childEnvironment(settings.env);
      if (refused.length > 0)
        logger.warn(
          { refused },
          'not passing AWS_* variables to kubectl (KBOOT_CHILD_ENV never passes them)',
        );
      const result = await execa(settings.command, argv, {
        env,
        extendEnv: false,
        timeout: options.timeoutMs,
        cancelSignal: options.signal,
        forceKillAfterDelay: 5000,
        input: options.stdin ?? '',
        reject: false,
        stripFinalNewline: false,
      });
      const stdout = String(result.stdout ?? '');
      const stderr = String(result.stderr ?? '');
      const lines = stderr.split('\n').filter((line) => line.trim() !== '');
      for (const line of lines) logger.debug({ kubectl: subcommand }, redactText(line));
      if (result.failed) {
        const why = describeFailure(result, options.timeoutMs);
        const tail = lines.slice(-TAIL_LINES).map((line) => line.trim());
        const last = tail.length > 0 ? `: ${redactText(tail.join(' | '))}` : '';
        const couldNotRun = result.exitCode === undefined && !result.timedOut && !result.isCanceled;
        throw new KubectlError(`kubectl ${subcommand} ${why}${last}`, {
          cause: result.isCanceled ? options.signal?.reason : undefined,
          hint: couldNotRun
            ? 'install kubectl on the image or set KBOOT_KUBECTL to its path'
            : 'see the kubectl output in the log (journalctl -u kboot); fix the cause and run kboot again',
          details: { args },
        });
      }
      return { stdout, stderr };
    },
  };
}
