/**
 * The step list `kboot cluster create|destroy` shows on stderr: on a terminal, a list redrawn in
 * place (one line per resource with its state); otherwise one log line per state change, so CI
 * logs and journald keep every transition.
 */

import type { Logger } from '../core/logger.js';
import type { Progress, ResourceStatus } from '../domain/cluster/engine-types.js';

const SYMBOL: Record<ResourceStatus, string> = {
  waiting: '·',
  looking: '…',
  creating: '…',
  deleting: '…',
  created: '✓',
  found: '✓',
  adopted: '✓',
  exists: '✓',
  updating: '…',
  updated: '✓',
  drifted: '~',
  deleted: '✓',
  gone: '✓',
  kept: '=',
  failed: '✗',
  blocked: '-',
};

/** One log line per transition. */
export function logProgress(logger: Logger): Progress {
  return {
    start: (keys, title) => logger.info({ resources: keys.length }, title),
    update: (key, status, detail) =>
      logger.info(
        { resource: key, status, ...(detail === undefined ? {} : { detail }) },
        `${key}: ${status}`,
      ),
    finish: () => {},
  };
}

/** A list redrawn in place on a terminal. */
export function terminalProgress(stream: NodeJS.WriteStream): Progress {
  const keys: string[] = [];
  const states = new Map<string, { status: ResourceStatus; detail?: string | undefined }>();
  let drawn = 0;
  let title = '';
  const draw = () => {
    // Lines never wrap (the cursor moves back by lines); a pty may report 0 columns.
    const width = (stream.columns ?? 0) > 0 ? stream.columns : 100;
    const lines = [
      title,
      ...keys.map((key) => {
        const state = states.get(key) ?? { status: 'waiting' as const };
        const detail = state.detail === undefined ? '' : ` ${state.detail}`;
        return `  ${SYMBOL[state.status]} ${key} ${state.status}${detail}`.slice(0, width - 1);
      }),
    ];
    let out = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const line of lines) out += `\x1b[2K${line}\n`;
    stream.write(out);
    drawn = lines.length;
  };
  return {
    start: (list, heading) => {
      keys.push(...list);
      title = heading;
      draw();
    },
    update: (key, status, detail) => {
      if (!keys.includes(key)) keys.push(key);
      states.set(key, { status, detail });
      draw();
    },
    finish: () => {},
  };
}
