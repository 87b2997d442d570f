/** A pino logger that keeps its lines in memory, for asserting what a wait logged. */

import pino from 'pino';
import type { Logger } from '../../../../src/core/logger.js';

export interface CapturedLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as CapturedLine);
      },
    },
  );
  return { logger, lines };
}

export const INFO = 30;
export const WARN = 40;
