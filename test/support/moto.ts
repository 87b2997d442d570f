/**
 * moto in server mode for integration tests: one server per test file on a free loopback port,
 * reset between tests with POST /moto-api/reset. moto's own server application, served one
 * request at a time (moto_serial.py says why), from the Python that has moto (the one behind
 * moto_server), else from the project's venv (.cache/moto-venv), created on first use.
 * With KBOOT_TEST_MOTO_ENDPOINT set, `useMoto` uses the moto already serving there instead of
 * starting one (mutation testing runs the same test files for every mutant, one file at a time).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { freePort, repoRoot } from './paths.js';

export interface Moto {
  endpoint: string;
  port: number;
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** Environment for a kboot process (or SDK client) that talks to this moto. */
  awsEnv(): Record<string, string>;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function canImportMoto(python: string): boolean {
  return spawnSync(python, ['-c', 'import moto.server, werkzeug'], { stdio: 'ignore' }).status === 0;
}

/**
 * A Python that has moto's server installed: MOTO_PYTHON, else python3 when it has moto (where
 * moto_server is on PATH), else the project's venv, created and filled on first use.
 */
export function motoPython(): string {
  if (process.env.MOTO_PYTHON !== undefined) return process.env.MOTO_PYTHON;
  const system = onPath('python3') ? 'python3' : 'python';
  if (canImportMoto(system)) return system;
  const venv = path.join(repoRoot(), '.cache', 'moto-venv');
  const inVenv = path.join(venv, 'bin', 'python');
  if (existsSync(inVenv) && canImportMoto(inVenv)) return inVenv;
  const steps: string[][] = [
    [system, '-m', 'venv', venv],
    [path.join(venv, 'bin', 'pip'), 'install', '--quiet', 'moto[server]'],
  ];
  for (const [command, ...args] of steps) {
    const result = spawnSync(command as string, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`could not install moto: '${command} ${args.join(' ')}' failed`);
  }
  return inVenv;
}

async function waitUntilUp(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('moto_server did not start within 30s');
}

function motoAt(endpoint: string, stop: () => Promise<void>): Moto {
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
    },
    stop,
    awsEnv: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SESSION_TOKEN: 'testing',
      AWS_EC2_METADATA_DISABLED: 'false',
    }),
  };
}

/** The moto serving at KBOOT_TEST_MOTO_ENDPOINT, if set: shared, so stop() leaves it running. */
function externalMoto(): Moto | undefined {
  const endpoint = process.env.KBOOT_TEST_MOTO_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  return motoAt(endpoint.replace(/\/+$/, ''), async () => {});
}

export async function startMoto(options: { port?: number } = {}): Promise<Moto> {
  const python = motoPython();
  const port = options.port ?? (await freePort());
  // One request at a time, as DynamoDB's conditional writes are atomic (see moto_serial.py).
  const launcher = path.join(repoRoot(), 'test', 'support', 'moto_serial.py');
  const child = spawn(python, [launcher, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'True' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(endpoint, child, Date.now() + 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return motoAt(endpoint, async () => {
    // Stopped already (a SIGTERM leaves exitCode null and sets signalCode).
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
}

export interface UseMotoOptions {
  /** Run before each test, after the reset (e.g. create the state table). */
  eachTest?: (moto: Moto) => Promise<unknown> | unknown;
}

/**
 * The moto of the tests of this file (or of the describe block that calls it): started before
 * them, reset before each (then `eachTest`), stopped after them. The handle it returns reads the
 * running server, so it can be passed around from the first hook on; outside of one it throws.
 * At the top level of a file, node:test runs the `before` hooks at once, not one after the other:
 * set up what needs the server in `beforeEach`, in a test, or with a client made from
 * `deferredClientConfig` (aws.ts), not in another top-level `before`.
 * KBOOT_TEST_MOTO_ENDPOINT names a running moto to use instead (one test file at a time).
 */
export function useMoto(options: UseMotoOptions = {}): Moto {
  let started: Moto | undefined;
  const current = (): Moto => {
    if (started === undefined) throw new Error('moto is used before its before() hook started it');
    return started;
  };
  const handle: Moto = {
    get endpoint() {
      return current().endpoint;
    },
    get port() {
      return current().port;
    },
    reset: () => current().reset(),
    stop: () => current().stop(),
    awsEnv: () => current().awsEnv(),
  };
  before(async () => {
    started = externalMoto() ?? (await startMoto());
  });
  after(async () => {
    await started?.stop();
  });
  beforeEach(async () => {
    await current().reset();
    await options.eachTest?.(handle);
  });
  return handle;
}
