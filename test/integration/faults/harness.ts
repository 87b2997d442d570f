/**
 * Shared by the fault tests: run the built kboot on a simulated instance and stop it at a named
 * step (a signal, or a stolen lease), and read what it left behind (cluster state, files).
 *
 * How a stop lands on a step: the runner logs `{flow, step, phase: 'run'}` as each step starts,
 * before the step does anything. The test acts as soon as it reads that line. A step that waits
 * (kubeadm, kubectl: slowed by their fakes' sleep knobs for that case) is then still running.
 * A step that calls AWS goes through the fault proxy, which holds each request a moment so the
 * test has read the step's line first: the stop comes while the call is in flight. A step that
 * does neither (a few ms of local work) may finish first: the stop then takes effect at the next
 * step, and the test names the step it did stop at.
 */

import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { readClusterItem, testDynamo } from '../../support/aws.js';
import type { RunResult } from '../../support/cli.js';
import type { SimCluster, SimInstance } from '../../support/cluster-sim.js';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js';
import type { Moto } from '../../support/moto.js';

/** kboot-boot.service's TimeoutStopSec (packer/files/kboot-boot.service): 3 min. */
export const BOOT_TIMEOUT_STOP_MS = 180_000;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Another instance takes the lock over, as a contender that watched the lease go unchanged would:
 * owner, fence + 1, a fresh record version number (rvn) and expiry written straight to the item.
 */
/** One item of the cluster (the test support's readClusterItem). */
export const readItem = readClusterItem;

export async function stealLease(
  moto: Moto,
  cluster: string,
  lock: string,
  thief: string,
  leaseMs: number,
): Promise<number> {
  const dynamodb = testDynamo(moto);
  try {
    const out = await dynamodb.send(
      new UpdateItemCommand({
        TableName: 'kboot',
        Key: { pk: { S: `cluster#${cluster}` }, sk: { S: `lock#${lock}` } },
        UpdateExpression:
          'SET #owner = :owner, #fence = #fence + :one, #expiresAtMs = :expires, #rvn = :rvn, #leaseMs = :leaseMs',
        ConditionExpression: 'attribute_exists(#owner)',
        ExpressionAttributeNames: {
          '#owner': 'owner',
          '#fence': 'fence',
          '#expiresAtMs': 'expiresAtMs',
          '#rvn': 'rvn',
          '#leaseMs': 'leaseMs',
        },
        ExpressionAttributeValues: {
          ':owner': { S: thief },
          ':one': { N: '1' },
          ':expires': { N: String(Date.now() + leaseMs) },
          ':rvn': { S: randomUUID() },
          ':leaseMs': { N: String(leaseMs) },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(out.Attributes?.fence?.N);
  } finally {
    dynamodb.destroy();
  }
}

export interface StepStart {
  flow: string;
  step: string;
}

export interface StopOptions {
  /** The step to act at, and the flow it belongs to (a boot runs two flows on a joining master). */
  at: StepStart;
  /** What to do there: a signal to kboot (SIGKILL: to its whole process group, as an instance dies). */
  act: NodeJS.Signals | ((running: { pid: number }) => Promise<void>);
  args?: readonly string[];
  env?: Record<string, string>;
  /** Holds each AWS request until the test has read the step lines before it. */
  proxy?: FaultProxy;
  /** More proxies held the same way (another service's endpoint, e.g. AWS_ENDPOINT_URL_AUTO_SCALING). */
  alsoHold?: readonly FaultProxy[];
  /**
   * The fake kubeadm's FAKE_KUBEADM_STARTED_DIR: act only once the child kubeadm has started (its
   * signal handlers installed), so the test sees what kboot does to a running child.
   */
  child?: { startedDir: string; command: string };
  /** Sees every JSON log line as it arrives. */
  onLine?: (line: Record<string, unknown>) => void;
}

export interface Stopped {
  result: RunResult;
  /** Whether the step was reached (and acted at). */
  acted: boolean;
  /** From the act (signal sent, lease stolen) to the process's exit, ms. */
  actToExitMs: number | undefined;
  /** The step the flow says it stopped at (its "stopped at step" line), if it logged one. */
  stoppedAt: StepStart | undefined;
}

/** Runs kboot on `instance` and acts when `at` starts. */
export async function stopAtStep(
  sim: SimCluster,
  instance: SimInstance,
  options: StopOptions,
): Promise<Stopped> {
  let reached = false;
  let acting: Promise<void> | undefined;
  let actedAtMs: number | undefined;
  let pid = 0;
  const act = (): Promise<void> => {
    if (acting !== undefined) return acting;
    actedAtMs = Date.now();
    const { act: what } = options;
    acting =
      typeof what === 'function'
        ? what({ pid })
        : Promise.resolve(process.kill(what === 'SIGKILL' ? -pid : pid, what)).then(() => {});
    return acting;
  };
  const onLine = (line: string): void => {
    if (!line.startsWith('{')) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    options.onLine?.(parsed);
    if (parsed.phase === 'run' && parsed.step === options.at.step && parsed.flow === options.at.flow) {
      reached = true;
      if (options.child === undefined) void act();
      else void waitForChild(options.child.startedDir, options.child.command).then(act);
    }
  };
  const { proxy } = options;
  const held = [...(proxy === undefined ? [] : [proxy]), ...(options.alsoHold ?? [])];
  if (held.length > 0) {
    const hold = async ({ body }: { body: string }): Promise<void> => {
      // Let the test read the lines kboot wrote before this request, then act while it is held.
      await sleep(40);
      // A lease renewal is never held on the act: an act may wait for the holder to see its lease
      // lost, which it learns from a renewal.
      if (body.includes('"lock#')) return;
      if (reached) await act();
      if (acting !== undefined) await sleep(100);
    };
    for (const each of held) each.onRequest = hold;
  }
  const env: Record<string, string> = { ...(options.env ?? {}) };
  if (proxy !== undefined) env.AWS_ENDPOINT_URL = proxy.endpoint;
  const running = sim.spawn(instance, options.args ?? ['boot', '--output', 'json'], {
    env,
    detached: options.act === 'SIGKILL',
    onStderrLine: onLine,
  });
  pid = running.child.pid as number;
  const result = await running.result;
  const exitedAtMs = Date.now();
  for (const each of held) each.onRequest = undefined;
  // The flow's own stop (a flow run inside a step, as leave's snapshot, reports its stop too).
  const stops = result.logs.filter((line) => /stopped at step/.test(String(line.msg ?? '')));
  const stopLine = stops.find((line) => line.flow === options.at.flow) ?? stops[0];
  return {
    result,
    acted: acting !== undefined,
    actToExitMs: actedAtMs === undefined ? undefined : exitedAtMs - actedAtMs,
    stoppedAt:
      stopLine === undefined ? undefined : { flow: String(stopLine.flow), step: String(stopLine.step) },
  };
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
}

/** Waits until a kubeadm whose argv starts with `command` has started (FAKE_KUBEADM_STARTED_DIR). */
async function waitForChild(dir: string, command: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const started = (): boolean =>
    filesUnder(dir).some((file) => readFileSync(path.join(dir, file), 'utf8').startsWith(`${command} `));
  while (!started() && Date.now() < deadline) await sleep(20);
}

/** Every file under `dir` (relative paths). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(dir, entry);
    if (statSync(full, { throwIfNoEntry: false })?.isFile()) out.push(entry);
  }
  return out.sort();
}

/**
 * Files kboot keeps secrets in that must not outlive a run: the kubeadm init and join configs
 * (token, certificate key) and any temp file of a write that did not finish.
 */
export function secretFilesLeft(root: string): string[] {
  return filesUnder(path.join(root, 'var/lib/kboot')).filter(
    (file) => /(^|\/)(init|join)\.yaml$/.test(file) || /\.tmp$/.test(file),
  );
}

/**
 * kubeadm inits that are still live: a successful init not followed by a kubeadm reset on the
 * same instance. A cluster has had exactly one init when this is 1.
 */
export function liveInits(sim: SimCluster): { root: string; startedAtMs: number }[] {
  const invocations = sim.invocations();
  return invocations
    .filter((i) => i.command === 'init' && i.exitCode === 0)
    .filter(
      (init) =>
        !invocations.some(
          (i) =>
            i.command === 'reset' &&
            i.exitCode === 0 &&
            i.env.KBOOT_ROOT === init.env.KBOOT_ROOT &&
            i.startedAtMs > init.endedAtMs,
        ),
    )
    .map((init) => ({ root: String(init.env.KBOOT_ROOT), startedAtMs: init.startedAtMs }));
}

/** The fake kubeadms started on an instance (FAKE_KUBEADM_STARTED_DIR) that still run. */
export function kubeadmsRunning(startedDir: string): string[] {
  return filesUnder(startedDir).filter((pid) => isRunning(Number(pid)));
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Files under `root` that contain `needle` (a bootstrap token, a certificate key). */
export function filesContaining(root: string, needle: string): string[] {
  return filesUnder(root).filter((file) => readFileSync(path.join(root, file), 'utf8').includes(needle));
}

/** The bootstrap token and certificate key of the init config kubeadm read, if it ran init. */
export function initSecrets(sim: SimCluster, instance: SimInstance): string[] {
  const init = sim
    .invocations()
    .find((i) => i.command === 'init' && i.env.KBOOT_ROOT === instance.root && i.config !== null);
  if (init?.config == null) return [];
  const token = /token: "?([a-z0-9]{6}\.[a-z0-9]{16})/.exec(init.config.text)?.[1];
  const key = /certificateKey: "?([a-f0-9]{64})/.exec(init.config.text)?.[1];
  return [token, key].filter((value): value is string => value !== undefined);
}

export function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** What a failed run said: its error line and its warnings, for an assertion message. */
export function why(result: RunResult): string {
  if (process.env.KBOOT_FAULT_DUMP !== undefined && result.exitCode !== 0)
    appendFileSync(process.env.KBOOT_FAULT_DUMP, `${result.stderr}\n=====\n`);
  const lines = result.logs.filter((line) => line.level === 'warn' || line.level === 'error');
  return lines.map((line) => `${line.step ?? ''} ${line.msg}`).join('\n') || result.stderr.slice(-2000);
}

/** Live processes whose command line holds every one of `words` (a child kboot started). */
export function processesWith(...words: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (words.every((word) => cmdline.includes(word))) pids.push(Number(entry));
  }
  return pids;
}

/** kboot-leave-watch.service's TimeoutStopSec (packer/files/kboot-leave-watch.service). */
export const LEAVE_WATCH_TIMEOUT_STOP_MS = 30_000;

/** What a leave fault case passes: the step's fakes' knobs and the endpoints to hold. */
export interface LeaveStop {
  step: string;
  child: { env: Record<string, string>; kubeadm?: string } | undefined;
  startedDir: string;
  /** moto's endpoint and the lifecycle stub's (Auto Scaling), each put behind a fault proxy. */
  endpoints: { aws: string; autoScaling: string };
  /** Collects the proxies for the suite's `after` to stop. */
  proxies: FaultProxy[];
}

/** `kboot leave` on `instance`, SIGTERM at `step` (a worker's or a master's leave alike). */
export async function sigtermLeaveAt(
  sim: SimCluster,
  instance: SimInstance,
  stop: LeaveStop,
): Promise<Stopped> {
  const { step, child, startedDir } = stop;
  const [proxy, asProxy] = await Promise.all([
    startFaultProxy(stop.endpoints.aws),
    startFaultProxy(stop.endpoints.autoScaling),
  ]);
  stop.proxies.push(proxy, asProxy);
  return stopAtStep(sim, instance, {
    at: { flow: 'leave', step },
    act: 'SIGTERM',
    args: ['leave', '--heartbeat-interval', '1s', '--output', 'json'],
    env: {
      ...(child?.env ?? {}),
      FAKE_KUBEADM_STARTED_DIR: startedDir,
      AWS_ENDPOINT_URL_AUTO_SCALING: asProxy.endpoint,
    },
    proxy,
    alsoHold: [asProxy],
    ...(child?.kubeadm === undefined ? {} : { child: { startedDir, command: child.kubeadm } }),
  });
}
