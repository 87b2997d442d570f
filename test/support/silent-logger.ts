import pino, { type Logger } from 'pino';

/** A logger that drops everything, for tests of code that takes a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
