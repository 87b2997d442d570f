/**
 * Runs a command once and measures it: wall time around a direct spawn, and peak RSS (the
 * kernel's max resident set, `%M` of GNU time) in a separate run under /usr/bin/time, so the
 * wrapper's own fork and exec never count in the time.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Invocation {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Sample {
  wallMs: number;
  /** Undefined when GNU time is not available. */
  peakRssKb: number | undefined;
}

const RSS_MARKER = 'KBOOT_BENCH_PEAK_RSS_KB=';

/** GNU time, if installed (Debian package `time`); the shell keyword `time` cannot report RSS. */
export function findGnuTime(): string | undefined {
  const candidate = '/usr/bin/time';
  if (!existsSync(candidate)) return undefined;
  const probe = spawnSync(candidate, ['-f', `${RSS_MARKER}%M`, 'true'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stderr.includes(RSS_MARKER) ? candidate : undefined;
}

function check(
  invocation: Invocation,
  status: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): void {
  if (status === 0) return;
  const how = signal === null ? `exited ${status}` : `was killed by ${signal}`;
  throw new Error(`${invocation.command} ${invocation.args.join(' ')} ${how}: ${stderr.trim().slice(-500)}`);
}

export function timeOnce(invocation: Invocation): number {
  const startedAt = process.hrtime.bigint();
  const result = spawnSync(invocation.command, [...invocation.args], {
    env: invocation.env,
    cwd: invocation.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  if (result.error !== undefined) throw result.error;
  check(invocation, result.status, result.signal, result.stderr);
  return wallMs;
}

export function peakRssOnce(invocation: Invocation, gnuTime: string): number {
  const result = spawnSync(gnuTime, ['-f', `${RSS_MARKER}%M`, invocation.command, ...invocation.args], {
    env: invocation.env,
    cwd: invocation.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  check(invocation, result.status, result.signal, result.stderr);
  const line = result.stderr.split('\n').findLast((text) => text.startsWith(RSS_MARKER));
  const kb = Number(line?.slice(RSS_MARKER.length));
  if (!Number.isFinite(kb)) throw new Error(`GNU time reported no peak RSS for ${invocation.command}`);
  return kb;
}

/** `warmups` unmeasured runs, then `runs` measured ones (time and, if possible, RSS). */
export function sample(
  invocation: Invocation,
  options: { runs: number; warmups: number; gnuTime?: string },
): Sample[] {
  for (let i = 0; i < options.warmups; i++) timeOnce(invocation);
  const samples: Sample[] = [];
  for (let i = 0; i < options.runs; i++) {
    const wallMs = timeOnce(invocation);
    const peakRssKb = options.gnuTime === undefined ? undefined : peakRssOnce(invocation, options.gnuTime);
    samples.push({ wallMs, peakRssKb });
  }
  return samples;
}
