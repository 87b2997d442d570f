/**
 * Starts many processes at once from a small bash launcher instead of from the bench itself.
 *
 * Node's spawn() blocks its event loop until the child has exec'd; with a hundred kboot processes
 * starting (each faulting in its memory), one spawn from the bench took ~250 ms, so starting 103 of
 * them took 27 s, and meanwhile the bench could not answer the IMDS requests of the instances
 * already running (their IMDS servers live in the bench's process), which timed out. bash forks
 * a hundred processes in about 0.1 s and leaves the bench's event loop alone.
 *
 * The launcher runs each command in the background with its own environment, at a given nice
 * level, stdout and stderr to files, and appends "<index> <exit status> <epoch µs>" to a results
 * file as each one exits. The bench waits for the launcher; `kill()` ends the whole process group
 * (the launcher, every command and their children).
 */

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseLogLines } from '../../../test/support/cli.js';
import { wallNowMs } from './system.js';

export interface LaunchSpec {
  command: string;
  args: readonly string[];
  /** The environment to add to the bench's own. */
  env: Record<string, string>;
}

export interface LaunchedResult {
  exitCode: number | null;
  /** Wall clock (ms since the epoch) when the launcher saw it exit. */
  exitAtMs: number | null;
  stdout: string;
  stderr: string;
  /** kboot's final error line (pino JSON), if it printed one. */
  error: { msg: string; code?: string; exitCode: number } | undefined;
}

export interface Launch {
  /** The launcher's pid (its process tree holds every command). */
  pid: number | undefined;
  /** Wall clock when the first command was started and when the last one was. */
  startedAtMs: number;
  startedAllAtMs: number;
  /** Resolves when every command has exited (or the launcher was killed). */
  done: Promise<LaunchedResult[]>;
  /** Kills the launcher's process group: every command and its children. */
  kill(): void;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function script(specs: readonly LaunchSpec[], dir: string, nice: number): string {
  const lines = [
    '#!/bin/bash',
    '# Written by scripts/bench/lib/launcher.ts: starts every command, records each exit.',
    `results=${quote(path.join(dir, 'results'))}`,
    'declare -A index',
    `printf '%s\\n' "\${EPOCHREALTIME/[.,]/}" > ${quote(path.join(dir, 'started'))}`,
  ];
  specs.forEach((spec, i) => {
    const assignments = Object.entries(spec.env)
      .map(([key, value]) => `${key}=${quote(value)}`)
      .join(' ');
    const command = [spec.command, ...spec.args].map(quote).join(' ');
    lines.push(
      `${assignments} nice -n ${nice} ${command} >${quote(path.join(dir, `${i}.out`))} 2>${quote(path.join(dir, `${i}.err`))} </dev/null &`,
      `index[$!]=${i}`,
    );
  });
  lines.push(
    `printf '%s\\n' "\${EPOCHREALTIME/[.,]/}" >> ${quote(path.join(dir, 'started'))}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a template
    'while (( ${#index[@]} > 0 )); do',
    '  finished=',
    '  wait -n -p finished',
    '  status=$?',
    '  [[ -n "$finished" ]] || break',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a template
    '  printf \'%s %s %s\\n\' "${index[$finished]}" "$status" "${EPOCHREALTIME/[.,]/}" >> "$results"',
    '  unset "index[$finished]"',
    'done',
  );
  return `${lines.join('\n')}\n`;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** Starts every spec at once (see above); `dir` receives the launcher, outputs and results. */
export async function launchAll(
  specs: readonly LaunchSpec[],
  options: { dir: string; nice: number },
): Promise<Launch> {
  mkdirSync(options.dir, { recursive: true });
  const launcher = path.join(options.dir, 'launch.sh');
  writeFileSync(launcher, script(specs, options.dir, options.nice), { mode: 0o755 });
  const child = spawn('bash', [launcher], { detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const startedFile = path.join(options.dir, 'started');
  // The launcher writes two stamps: before its first fork and after its last.
  for (;;) {
    const stamps = readOr(startedFile, '').split('\n').filter(Boolean);
    if (stamps.length >= 2 || child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stamps = readOr(startedFile, '')
    .split('\n')
    .filter(Boolean)
    .map((micros) => Number(micros) / 1000);
  const done = exited.then(() => {
    const exits = new Map<number, { status: number; atMs: number }>();
    for (const line of readOr(path.join(options.dir, 'results'), '').split('\n').filter(Boolean)) {
      const [index, status, micros] = line.split(' ').map(Number);
      exits.set(index as number, { status: status as number, atMs: (micros as number) / 1000 });
    }
    return specs.map((_, i): LaunchedResult => {
      const stderr = readOr(path.join(options.dir, `${i}.err`), '');
      const error = parseLogLines(stderr)
        .filter((line) => line.level === 'error' && typeof line.exitCode === 'number')
        .at(-1) as LaunchedResult['error'];
      const exit = exits.get(i);
      return {
        exitCode: exit?.status ?? null,
        exitAtMs: exit?.atMs ?? null,
        stdout: readOr(path.join(options.dir, `${i}.out`), ''),
        stderr,
        error,
      };
    });
  });
  return {
    pid: child.pid,
    startedAtMs: stamps[0] ?? wallNowMs(),
    startedAllAtMs: stamps[1] ?? wallNowMs(),
    done,
    kill: () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
