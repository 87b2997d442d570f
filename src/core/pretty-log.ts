/**
 * kboot's log lines for a human on a terminal: `12:04:05.123 INFO  message  key=value ...`, the
 * level coloured when the terminal takes colour, an error's stack on the lines after. It reads
 * the JSON lines pino writes (already redacted by the logger's hooks) and writes each formatted
 * line synchronously, like the JSON destination. Small on purpose: it replaces pino-pretty and
 * its dozen dependencies in the shipped binary.
 */

import { writeSync } from 'node:fs';

const LEVEL_LABELS: Record<string, string> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};
const LEVEL_COLOURS: Record<string, string> = {
  trace: '\u001b[90m',
  debug: '\u001b[36m',
  info: '\u001b[32m',
  warn: '\u001b[33m',
  error: '\u001b[31m',
  fatal: '\u001b[41m',
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
/** Fields shown in the line's head, or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export interface PrettyOptions {
  colour: boolean;
}

/** `HH:MM:ss.mmm` of an ISO time, local to the machine (as the terminal's user reads it). */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  if (Number.isNaN(date.getTime())) return String(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function errorStack(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack = (value as { stack?: unknown }).stack;
  return typeof stack === 'string' ? stack : undefined;
}

/** One pino JSON line as a human line (a line that is not JSON is returned as it is). */
export function formatPrettyLine(line: string, options: PrettyOptions): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(entry.level ?? 'info');
  const label = LEVEL_LABELS[level] ?? level.toUpperCase();
  const colour = options.colour ? (LEVEL_COLOURS[level] ?? '') : '';
  const time = options.colour ? `${DIM}${clock(entry.time)}${RESET}` : clock(entry.time);
  const head = `${time} ${colour}${label}${colour === '' ? '' : RESET} ${String(entry.msg ?? '')}`;
  const fields: string[] = [];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD_FIELDS.has(key) || value === undefined) continue;
    const stack = errorStack(value);
    if (stack !== undefined) {
      const { stack: _stack, ...rest } = value as Record<string, unknown>;
      fields.push(`${key}=${valueText(rest)}`);
      stacks.push(stack);
      continue;
    }
    fields.push(`${key}=${valueText(value)}`);
  }
  const body =
    fields.length === 0
      ? ''
      : `  ${options.colour ? DIM : ''}${fields.join(' ')}${options.colour ? RESET : ''}`;
  const tail = stacks.map((stack) => `\n${stack.replace(/^/gm, '    ')}`).join('');
  return `${head}${body}${tail}\n`;
}

/** A pino destination writing formatted lines to a file descriptor (stderr: 2), synchronously. */
export function prettyDestination(options: PrettyOptions & { fd?: number; write?: (text: string) => void }): {
  write(line: string): void;
} {
  const fd = options.fd ?? 2;
  const write = options.write ?? ((text: string) => writeSync(fd, text));
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') write(formatPrettyLine(line, options));
    },
  };
}
