import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "90s", "10m", "1h30m", "250ms", "2d" (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(text: string, what = 'duration'): number {
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
