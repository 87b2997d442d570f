/**
 * What the bench reads from Linux about itself and its machine: the wall clock with sub-ms
 * precision, memory available, CPU time of a process and of the bench's reaped children, and
 * the pid of a child by its command line. /proc only; on another OS these return undefined.
 */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds since the epoch, with the sub-millisecond part (comparable with Date.now()). */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** MemTotal and MemAvailable, in MiB. */
export function memoryMb(): { totalMb: number; availableMb: number } | undefined {
  const text = readText('/proc/meminfo');
  if (text === undefined) return undefined;
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]) / 1024;
  };
  const totalMb = field('MemTotal');
  const availableMb = field('MemAvailable');
  return totalMb === undefined || availableMb === undefined ? undefined : { totalMb, availableMb };
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of CPU times in /proc/<pid>/stat (100 on every mainstream Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(probe.stdout?.trim());
    clockTicks = probe.status === 0 && Number.isInteger(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** The fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
function statFields(pid: number | 'self'): string[] | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
}

export interface CpuSeconds {
  /** utime + stime of the process itself. */
  own: number;
  /** cutime + cstime: its children that have exited and been waited for, with theirs. */
  children: number;
}

export function cpuSeconds(pid: number | 'self'): CpuSeconds | undefined {
  const fields = statFields(pid);
  if (fields === undefined) return undefined;
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are indices 11-14 here.
  const tick = (index: number): number => Number(fields[index] ?? 0);
  const hz = ticksPerSecond();
  return { own: (tick(11) + tick(12)) / hz, children: (tick(13) + tick(14)) / hz };
}

/** The pid of a child of this process whose command line contains every one of `parts`. */
export function findChildPid(parts: readonly string[]): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields === undefined || Number(fields[1]) !== process.pid) continue;
    const commandLine = readText(`/proc/${entry}/cmdline`)?.split('\0').join(' ') ?? '';
    if (parts.every((part) => commandLine.includes(part))) return Number(entry);
  }
  return undefined;
}

/** RssAnon of a process and all its descendants, in MiB (0 for processes already gone). */
export function treeAnonymousMb(pid: number): number {
  const status = readText(`/proc/${pid}/status`);
  if (status === undefined) return 0;
  const match = /^RssAnon:\s+(\d+) kB/m.exec(status);
  let totalMb = match === null ? 0 : Number(match[1]) / 1024;
  const children = readText(`/proc/${pid}/task/${pid}/children`)?.trim() ?? '';
  for (const child of children.split(/\s+/)) {
    if (/^\d+$/.test(child)) totalMb += treeAnonymousMb(Number(child));
  }
  return totalMb;
}
