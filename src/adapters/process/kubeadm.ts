/**
 * Runs kubeadm (and nothing else) as a child process with execa. Secrets never go in argv: kboot
 * passes them in a 0600 config file (`--config`). Output is streamed to the logger at debug
 * (through the logger's redaction) and the tail is kept for the error message on failure.
 */

import { execa } from 'execa';
import { KubeadmError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { redactText } from '../../core/secrets.js';
import type { KubeadmRunner } from '../../domain/ports/kubeadm.js';
import { childEnvironment } from './child-env.js';

export interface KubeadmRunnerSettings {
  /** The kubeadm executable (KBOOT_KUBEADM, else `kubeadm` on PATH). */
  command: string;
  logger: Logger;
  /** kboot's environment: kubeadm gets only what child-env.ts lets through, never AWS_*. */
  env: NodeJS.ProcessEnv;
  /** Variables kboot itself sets for kubeadm (KBOOT_ROOT). */
  set?: Record<string, string>;
  defaultTimeoutMs: number;
}

const TAIL_LINES = 8;

export function kubeadmRunner(settings: KubeadmRunnerSettings): KubeadmRunner {
  return {
    async run(args, options = {}) {
      const { logger } = settings;
      const firstFlag = args.findIndex((arg) => arg.startsWith('-'));
      const subcommand = (firstFlag < 0 ? args : args.slice(0, firstFlag)).join(' ');
      logger.info({ args }, `running kubeadm ${subcommand}`);
      const tail: string[] = [];
      const keep = (line: string): void => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        logger.debug({ kubeadm: subcommand }, redactText(line));
      };
      const { env, refused } = childEnvironment(settings.env, settings.set);
      if (refused.length > 0)
        logger.warn(
          { refused },
          'not passing AWS_* variables to kubeadm (KBOOT_CHILD_ENV never passes them)',
        );
      const child = execa(settings.command, [...args], {
        env,
        extendEnv: false,
        timeout: options.timeoutMs ?? settings.defaultTimeoutMs,
        cancelSignal: options.signal,
        forceKillAfterDelay: 5000,
        stdin: 'ignore',
        reject: false,
        all: true,
        lines: false,
        buffer: { stdout: true, stderr: false, all: false },
      });
      child.all?.setEncoding('utf8');
      let partial = '';
      child.all?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') keep(line);
      });
      const result = await child;
      if (partial.trim() !== '') keep(partial);
      if (result.failed) {
        const why = result.timedOut
          ? `timed out after ${Math.round((options.timeoutMs ?? settings.defaultTimeoutMs) / 1000)}s`
          : result.isCanceled
            ? 'was stopped'
            : result.exitCode === undefined
              ? `could not run (${result.code ?? result.shortMessage})`
              : `exited ${result.exitCode}`;
        const last = tail.length > 0 ? `: ${redactText(tail.slice(-3).join(' | '))}` : '';
        throw new KubeadmError(`kubeadm ${subcommand} ${why}${last}`, {
          cause: result.isCanceled ? options.signal?.reason : undefined,
          hint:
            result.exitCode === undefined && !result.timedOut && !result.isCanceled
              ? 'install kubeadm on the image or set KBOOT_KUBEADM to its path'
              : 'see the kubeadm output in the log (journalctl -u kboot); kboot cleans up and can be re-run',
          details: { args },
        });
      }
      return String(result.stdout ?? '');
    },
  };
}
