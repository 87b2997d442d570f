/**
 * The root logger, made once at the CLI edge and handed down; flows and steps take children.
 * pino JSON on stderr, written synchronously with no transports (a single binary has no worker
 * files). On a TTY the same lines are formatted for humans. Every merged object passes through
 * `redactValue` (errors serialized to their fields first, then redacted) and every line, decoded
 * value by value, through `redactJsonLine` before it is written, so it stays one valid JSON line.
 */

import type { DestinationStream, Logger } from 'pino';
import { redactJsonLine, redactValue } from './secrets.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Defaults to fd 2 (stderr). Tests pass a stream to capture lines. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/**
 * Makes the root logger. pino is imported here, not at the top of the module: it (and the Node
 * modules it pulls in) would otherwise load on every start, `--version` and completion TABs too.
 */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const { default: pino } = await import('pino');
  let destination = options.destination;
  if (destination === undefined) {
    if (options.format === 'pretty') {
      const { default: pretty } = await import('pino-pretty');
      destination = pretty({
        destination: 2,
        sync: true,
        colorize: process.stderr.isTTY === true,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
      });
    } else {
      destination = pino.destination({ fd: 2, sync: true });
    }
  }
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Errors are turned into their fields (type, message, code, hint, causes) inside
        // redactValue, before redaction: an Error copied as it is would log as `{}`.
        log: (object) => redactValue(object) as Record<string, unknown>,
      },
      // pino's own err serializer would take the already serialized error for a new one.
      serializers: { err: redactValue, error: redactValue },
      hooks: { streamWrite: (line) => redactJsonLine(line) },
    },
    destination,
  );
}
