/**
 * How a command is wired: options and help are registered up front (cheap), and the handler is
 * loaded with `await import()` only when the command runs, so `--help`, `--version` and every
 * completion TAB stay fast. Handlers are plain async functions of a typed options object.
 */

import { type Command, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../core/logger.js';
import { DEFAULT_CONFIG_PATH } from '../domain/config/defaults.js';
import { type CommandContext, createContext, OUTPUT_FORMATS, type OutputFormat } from './context.js';
import { COMMAND_DEFAULTS } from './defaults.js';

export interface Runtime {
  signal: AbortSignal;
}

export type Handler<O> = (options: O, ctx: CommandContext) => Promise<void>;

interface RawOptions {
  logLevel: LogLevel;
  logFormat?: LogFormat;
  root: string;
  region?: string;
  table?: string;
  output?: OutputFormat;
  [key: string]: unknown;
}

/** Options plus the command's positional arguments. */
export type WithArgs<O> = O & { args: string[] };

export function lazyAction<O>(runtime: Runtime, load: () => Promise<Handler<WithArgs<O>>>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const raw = command.optsWithGlobals<RawOptions>();
    const ctx = await createContext(
      {
        logLevel: raw.logLevel,
        logFormat: raw.logFormat,
        root: raw.root,
        region: raw.region,
        table: raw.table,
      },
      raw.output ?? 'text',
      runtime.signal,
    );
    const handler = await load();
    await handler({ ...(raw as unknown as O), args: command.args }, ctx);
  };
}

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text');
}

export function dryRunOption(): Option {
  return new Option(
    '--dry-run',
    'print the plan and the rendered files (secrets redacted) and change nothing',
  );
}

export function configOption(): Option {
  return new Option('--config <path>', 'node config file (resolved under --root)').default(
    DEFAULT_CONFIG_PATH,
  );
}

/**
 * An option whose default the handler applies (`flag ?? default`, from COMMAND_DEFAULTS), because
 * something may come before it (the node config, a value read at run time); the help shows it.
 */
export function defaultedOption(flags: string, description: string, value: string): Option {
  return new Option(flags, `${description} (default: ${value})`);
}

export function globalOptions(): Option[] {
  return [
    new Option('--log-level <level>', 'log verbosity')
      .choices(LOG_LEVELS)
      .env('KBOOT_LOG_LEVEL')
      .default('info'),
    new Option('--log-format <format>', 'log format (default: pretty on a TTY, json otherwise)')
      .choices(LOG_FORMATS)
      .env('KBOOT_LOG_FORMAT'),
    new Option('--root <dir>', 'filesystem root every kboot path is resolved under')
      .env('KBOOT_ROOT')
      .default('/'),
    new Option('--region <region>', 'AWS region (default: AWS_REGION, else the instance region from IMDS)'),
    defaultedOption(
      '--table <name>',
      'DynamoDB table holding cluster state',
      COMMAND_DEFAULTS.kboot.table,
    ).env('KBOOT_TABLE'),
  ];
}
