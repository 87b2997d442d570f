/**
 * What every command handler receives: the global options resolved, a logger, a clock, the
 * filesystem root and the output sink. Built at the edge, once per invocation; AWS clients and
 * IMDS are made lazily by the handlers that need them.
 */

import path from 'node:path';
import { type Clock, offsetClock, systemClock } from '../core/clock.js';
import { UsageError } from '../core/errors.js';
import { createLogger, type LogFormat, type Logger, type LogLevel } from '../core/logger.js';

export const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface GlobalOptions {
  logLevel: LogLevel;
  logFormat?: LogFormat;
  root: string;
  region?: string;
  table?: string;
}

export interface Output {
  readonly format: OutputFormat;
  /** Writes text to stdout, adding a final newline when missing. */
  text(text: string): void;
  /** Writes one JSON document to stdout. */
  json(data: unknown): void;
}

export interface CommandContext {
  logger: Logger;
  clock: Clock;
  /** Absolute filesystem root every kboot path is resolved under ("/" on an instance). */
  root: string;
  region: string | undefined;
  table: string | undefined;
  env: NodeJS.ProcessEnv;
  output: Output;
  logLevel: LogLevel;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export function stdoutOutput(format: OutputFormat): Output {
  return {
    format,
    text: (text) => {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    json: (data) => {
      process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    },
  };
}

export async function createContext(
  globals: GlobalOptions,
  outputFormat: OutputFormat,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandContext> {
  const format: LogFormat = globals.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const logger = await createLogger({ level: globals.logLevel, format });
  const clockOffsetMs = env.KBOOT_CLOCK_OFFSET_MS === undefined ? 0 : Number(env.KBOOT_CLOCK_OFFSET_MS);
  if (!Number.isFinite(clockOffsetMs)) {
    throw new UsageError(
      `KBOOT_CLOCK_OFFSET_MS must be a number of milliseconds, got "${env.KBOOT_CLOCK_OFFSET_MS}"`,
    );
  }
  return {
    logger,
    clock: clockOffsetMs === 0 ? systemClock : offsetClock(systemClock, clockOffsetMs),
    root: path.resolve(globals.root),
    region: globals.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    table: globals.table,
    env,
    output: stdoutOutput(outputFormat),
    logLevel: globals.logLevel,
    signal,
  };
}
