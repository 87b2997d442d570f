import { UsageError } from './errors.js';

/**
 * Node's timers hold a signed 32-bit number of milliseconds (about 24.8 days); a longer delay
 * fires at once, so a longer timeout or interval would spin instead of wait.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest duration kboot accepts anywhere: 24 days, a round value below MAX_TIMER_MS. */
export const MAX_DURATION_MS = 24 * 86_400_000;

/** The range a duration must fall in, both ends included. */
export interface DurationBounds {
  minMs: number;
  maxMs: number;
}

/** "between 30s and 1h", for messages. */
export function describeBounds(bounds: DurationBounds): string {
  return `between ${formatDurationMs(bounds.minMs)} and ${formatDurationMs(bounds.maxMs)}`;
}

/** Refuses a duration outside its bounds, naming the field (`what`) and the bounds: exit 2. */
export function checkDurationMs(
  durationMs: number,
  what: string,
  bounds: DurationBounds,
  given?: string,
): number {
  if (!Number.isFinite(durationMs) || durationMs < bounds.minMs || durationMs > bounds.maxMs) {
    const shown = given ?? `${durationMs}ms`;
    throw new UsageError(`${what} must be ${describeBounds(bounds)}, got ${shown}`, {
      hint: `set ${what} to a duration ${describeBounds(bounds)}`,
    });
  }
  return durationMs;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses "90s", "10m", "1h30m", "250ms", "2d" (or a bare number of seconds) into milliseconds,
 * within `bounds` (default: 0 to MAX_DURATION_MS; nothing longer can be waited for).
 */
export function parseDurationMs(
  text: string,
  what = 'duration',
  bounds: DurationBounds = { minMs: 0, maxMs: MAX_DURATION_MS },
): number {
  return checkDurationMs(parseUnboundedMs(text, what), what, bounds, text);
}

function parseUnboundedMs(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let totalMs = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    totalMs += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new UsageError(`invalid ${what} "${text}"`, { hint: 'use a duration like 90s, 10m, 1h30m or 2d' });
  }
  return Math.round(totalMs);
}

export function formatDurationMs(durationMs: number): string {
  if (durationMs < 1000) return `${Math.round(durationMs)}ms`;
  const totalSeconds = Math.round(durationMs / 1000);
  const d = Math.floor(totalSeconds / 86_400);
  const h = Math.floor((totalSeconds % 86_400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join('') || '0s';
}
