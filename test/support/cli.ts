/** Runs the built kboot binary as a user would: a child process with its own env and argv. */

import { type ChildProcess, spawn } from 'node:child_process';
import { withTestChildEnv } from './child-env.js';
import { kbootBinary } from './paths.js';

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr parsed as pino JSON lines (non-JSON lines are skipped). */
  logs: Record<string, unknown>[];
  /** The final error line kboot printed (JSON log format), if any: message, hint, code. */
  error: { msg: string; hint?: string; code: string; exitCode: number } | undefined;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  binary?: string;
  /** Own process group, so a test can kill kboot with its children (an instance dying). */
  detached?: boolean;
  /** Called with each complete stderr line as it arrives (progress display). */
  onStderrLine?: (line: string) => void;
}

export function parseLogLines(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

export interface RunningKboot {
  child: ChildProcess;
  result: Promise<RunResult>;
}

export function runKboot(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return spawnKboot(args, options).result;
}

/** Starts kboot and returns the child (to signal it) with its eventual result. */
export function spawnKboot(args: readonly string[], options: RunOptions = {}): RunningKboot {
  let child!: ChildProcess;
  const result = new Promise<RunResult>((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...process.env, KBOOT_LOG_FORMAT: 'json', ...options.env })) {
      if (value !== undefined) env[key] = value;
    }
    child = spawn(options.binary ?? kbootBinary(), [...args], {
      env: withTestChildEnv(env),
      cwd: options.cwd,
      detached: options.detached === true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    let pending = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      if (options.onStderrLine === undefined) return;
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine(line);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const logs = parseLogLines(stderr);
      const error = logs.filter((line) => line.level === 'error' && typeof line.exitCode === 'number').at(-1);
      resolve({ exitCode, signal, stdout, stderr, logs, error: error as RunResult['error'] });
    });
    child.stdin?.end(options.input ?? '');
  });
  return { child, result };
}
