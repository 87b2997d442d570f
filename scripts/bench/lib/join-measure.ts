/**
 * One worker join, timed end to end in the simulated cluster (test/support/cluster-sim.ts): a
 * fresh worker instance (own IMDS server, own filesystem root) joins a cluster whose first
 * control-plane instance booted once, and the instants that matter are collected:
 *  - start: the wall clock just before the joiner is spawned;
 *  - the exec of `kubeadm version` and `kubeadm join`: stamped by scripts/bench/bin/kubeadm, the
 *    wrapper both joiners run as kubeadm, first thing (the wrapper answers `kubeadm version -o
 *    short` itself, as fast as the real kubeadm, for kboot's instantVersion joiner, and does the
 *    worker's join itself: its light join checks the config's mode, token and CA pin);
 *  - the join's startedAtMs / endedAtMs (FAKE_KUBEADM_LOG, written by the light join);
 *  - the joiner's exit; its IMDS requests (the instance's ImdsServer counts) and AWS calls
 *    (KBOOT_TRACE_AWS_CALLS for kboot; the counting proxy when one is given, for either joiner).
 * A join that does not succeed is an error: timing a failure would measure nothing.
 */

import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type RunResult, runKboot } from '../../../test/support/cli.js';
import { SimCluster, type SimInstance } from '../../../test/support/cluster-sim.js';
import { type Moto, startMoto } from '../../../test/support/moto.js';
import { type AwsCallCounter, operationCounts } from './aws-call-counter.js';
import { type Summary, summarize } from './stats.js';
import { wallNowMs } from './system.js';

/** The kubeadm both joiners run: stamps the exec, then becomes the fake kubeadm. */
export const EXEC_STAMP_KUBEADM = path.join(import.meta.dirname, '..', 'bin', 'kubeadm');

/** The hand-written user-data script kboot is compared with. */
export const REFERENCE_SCRIPT = path.join(import.meta.dirname, '..', 'reference', 'join-node.sh');

export type Joiner =
  /**
   * kboot. `instantVersion`: the bench's kubeadm answers `kubeadm version -o short` itself, as
   * fast as the real kubeadm (a Go binary), instead of starting the fake (a Node.js script). The
   * bench's sections use it: the fake's Node.js start-up is the simulation's cost, not kboot's.
   */
  | { kind: 'kboot'; binary: string; instantVersion: boolean }
  /** The reference script; `pathPrefix` goes first on PATH (where the real `aws` is). */
  | { kind: 'aws-cli'; script: string; pathPrefix: string | undefined };

/**
 * Environment that makes an instance run the bench's kubeadm wrapper in front of the fake.
 * `lightJoin`: a worker's `kubeadm join` is checked and recorded by the wrapper instead of run by
 * the fake (scripts/bench/bin/kubeadm says what it checks).
 */
export function benchKubeadmEnv(
  repoRoot: string,
  execLog: string,
  instantVersion: boolean,
  lightJoin = false,
): Record<string, string> {
  return {
    KBOOT_KUBEADM: EXEC_STAMP_KUBEADM,
    KBOOT_BENCH_KUBEADM: path.join(repoRoot, 'test', 'fixtures', 'bin', 'kubeadm'),
    KBOOT_BENCH_EXEC_LOG: execLog,
    KBOOT_BENCH_INSTANT_VERSION: instantVersion ? '1' : '0',
    KBOOT_BENCH_LIGHT_JOIN: lightJoin ? '1' : '0',
  };
}

export type JoinerLabel = 'kboot' | 'kboot-fake-version' | 'aws-cli';

export function joinerLabel(joiner: Joiner): JoinerLabel {
  if (joiner.kind === 'aws-cli') return 'aws-cli';
  return joiner.instantVersion ? 'kboot' : 'kboot-fake-version';
}

export interface JoinSample {
  joiner: JoinerLabel;
  /** Start → exec of `kubeadm join`. */
  toJoinExecMs: number;
  /** kboot's own CPU time (user + sys, 10 ms ticks) at its exec of `kubeadm join`; null for the script. */
  cpuToJoinExecMs: number | null;
  /** Start → the join recording its start (the light join: right after the exec). */
  toJoinMainMs: number;
  /** `kubeadm version`: exec → the fake's end; null when the fake did not run it. */
  versionCallMs: number | null;
  /** Start → the joiner's exit (the join included). */
  exitMs: number;
  /** Start → kboot's "this instance is a … of cluster …" log line; null for the script. */
  identityKnownMs: number | null;
  /** kboot's own step timings (--output json); empty for the script. */
  stepsMs: Record<string, number>;
  imdsRequests: number;
  imdsByPath: Record<string, number>;
  /** AWS calls: the counting proxy's when there is one, else KBOOT_TRACE_AWS_CALLS lines. */
  awsCalls: number;
  awsOperations: Record<string, number>;
  /** KBOOT_TRACE_AWS_CALLS lines (kboot only). */
  tracedAwsCalls: number | null;
}

export interface JoinFixture {
  moto: Moto;
  sim: SimCluster;
  controlPlane: SimInstance;
  /** Milliseconds the control-plane's `kboot boot` took (init included). */
  initMs: number;
  /** Runs one join on a fresh worker instance. */
  join(joiner: Joiner, counter?: AwsCallCounter): Promise<JoinSample>;
  stop(): Promise<void>;
}

interface ExecStamp {
  atMs: number;
  command: string;
  /** CPU time (user + sys) the exec'ing process had used, 10 ms resolution; undefined if unknown. */
  parentCpuMs: number | undefined;
}

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

function readExecStamps(file: string): ExecStamp[] {
  return readLines(file).map((line) => {
    const [micros, command, cpuMs] = line.split(' ');
    const parentCpuMs = Number(cpuMs);
    return {
      atMs: Number(micros) / 1000,
      command: command ?? '',
      parentCpuMs: cpuMs === undefined || parentCpuMs < 0 ? undefined : parentCpuMs,
    };
  });
}

function logTimeMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function failure(joiner: Joiner, instance: SimInstance, result: RunResult, what: string): Error {
  const detail = result.error?.msg ?? result.stderr.trim().split('\n').slice(-5).join('\n');
  return new Error(
    `${joinerLabel(joiner)} join on ${instance.name} failed (${what}, exit ${result.exitCode ?? result.signal}): ${detail}`,
  );
}

function kbootSteps(stdout: string): { outcome: string; stepsMs: Record<string, number> } {
  const output = JSON.parse(stdout) as { outcome?: string; steps?: { step: string; durationMs: number }[] };
  const stepsMs: Record<string, number> = {};
  for (const { step, durationMs } of output.steps ?? []) stepsMs[step] = durationMs;
  return { outcome: output.outcome ?? 'unknown', stepsMs };
}

/**
 * Starts moto and a simulated cluster, boots its first control-plane instance (`kboot boot`),
 * and returns a fixture that joins fresh workers to it.
 */
export async function startJoinFixture(options: {
  name: string;
  repoRoot: string;
  binary: string;
}): Promise<JoinFixture> {
  const moto = await startMoto();
  let sim: SimCluster | undefined;
  try {
    sim = new SimCluster(moto, { name: options.name });
    await sim.createTable();
    const controlPlane = await sim.addInstance('control-plane');
    const startMs = wallNowMs();
    const init = await sim.run(controlPlane, ['boot', '--output', 'json'], { binary: options.binary });
    const initMs = wallNowMs() - startMs;
    if (init.exitCode !== 0) {
      throw new Error(
        `the control-plane instance did not initialize the cluster: ${init.error?.msg ?? init.stderr.slice(-500)}`,
      );
    }
    const cluster = sim;
    let joins = 0;
    return {
      moto,
      sim: cluster,
      controlPlane,
      initMs,
      join: async (joiner, counter) => {
        joins += 1;
        const execLog = path.join(cluster.dir, `join-${joins}.exec.log`);
        const traceFile = path.join(cluster.dir, `join-${joins}.aws.jsonl`);
        const instantVersion = joiner.kind === 'kboot' && joiner.instantVersion;
        const instance = await cluster.addInstance('worker', {
          ...benchKubeadmEnv(options.repoRoot, execLog, instantVersion, true),
          KBOOT_TRACE_AWS_CALLS: traceFile,
          ...(counter === undefined ? {} : { AWS_ENDPOINT_URL: counter.endpoint }),
        });
        return measureJoin(cluster, instance, joiner, { execLog, traceFile, counter });
      },
      stop: async () => {
        await cluster.stop();
        await moto.stop();
        rmSync(cluster.dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await sim?.stop();
    await moto.stop();
    throw error;
  }
}

async function measureJoin(
  sim: SimCluster,
  instance: SimInstance,
  joiner: Joiner,
  files: { execLog: string; traceFile: string; counter: AwsCallCounter | undefined },
): Promise<JoinSample> {
  files.counter?.reset();
  const startMs = wallNowMs();
  const result =
    joiner.kind === 'kboot'
      ? await sim.run(instance, ['boot', '--output', 'json'], { binary: joiner.binary })
      : await runKboot([], {
          binary: joiner.script,
          timeoutMs: 120_000,
          env: {
            ...instance.env,
            ROOT: instance.root,
            KUBEADM: EXEC_STAMP_KUBEADM,
            PATH: [joiner.pathPrefix, process.env.PATH].filter(Boolean).join(path.delimiter),
          },
        });
  const exitMs = wallNowMs() - startMs;
  const proxied = files.counter === undefined ? undefined : [...files.counter.requests];
  if (result.exitCode !== 0) throw failure(joiner, instance, result, 'non-zero exit');

  let stepsMs: Record<string, number> = {};
  if (joiner.kind === 'kboot') {
    const parsed = kbootSteps(result.stdout);
    if (parsed.outcome !== 'joined-worker')
      throw failure(joiner, instance, result, `outcome ${parsed.outcome}`);
    stepsMs = parsed.stepsMs;
  }
  const invocations = sim.invocations().filter((call) => call.env.KBOOT_ROOT === instance.root);
  const join = invocations.find((call) => call.command === 'join');
  if (join === undefined || join.exitCode !== 0) {
    throw failure(
      joiner,
      instance,
      result,
      join === undefined ? 'kubeadm join never ran' : 'kubeadm join failed',
    );
  }
  const version = invocations.find((call) => call.command === 'version');
  const stamps = readExecStamps(files.execLog);
  const joinExec = stamps.find((stamp) => stamp.command === 'join');
  if (joinExec === undefined) throw failure(joiner, instance, result, 'no exec stamp for kubeadm join');
  const versionExec = stamps.find((stamp) => stamp.command === 'version');
  const versionCallMs =
    version === undefined || versionExec === undefined ? null : version.endedAtMs - versionExec.atMs;

  const identityLine = result.logs.find(
    (line) => typeof line.msg === 'string' && line.msg.startsWith('this instance is a'),
  );
  const identityAtMs = logTimeMs(identityLine?.time);
  const traced = joiner.kind === 'kboot' ? readLines(files.traceFile) : [];
  const tracedRequests = traced.map((line) => JSON.parse(line) as { service: string; operation: string });
  const requests = proxied ?? tracedRequests;
  const counts = instance.imds.counts;
  return {
    joiner: joinerLabel(joiner),
    toJoinExecMs: joinExec.atMs - startMs,
    cpuToJoinExecMs: joiner.kind === 'kboot' ? (joinExec.parentCpuMs ?? null) : null,
    toJoinMainMs: join.startedAtMs - startMs,
    versionCallMs,
    exitMs,
    identityKnownMs: identityAtMs === undefined ? null : identityAtMs - startMs,
    stepsMs,
    imdsRequests: counts.total,
    imdsByPath: counts.byPath,
    awsCalls: requests.length,
    awsOperations: operationCounts(requests),
    tracedAwsCalls: joiner.kind === 'kboot' ? traced.length : null,
  };
}

/** A summary of one numeric field over samples (null values left out; undefined when none). */
export function summaryOf(
  samples: readonly JoinSample[],
  pick: (sample: JoinSample) => number | null,
): Summary | undefined {
  const values = samples.map(pick).filter((value): value is number => value !== null);
  return values.length === 0 ? undefined : summarize(values);
}

/** Operation counts that are the same in every sample, or the range of each ("dynamodb GetItem 1"). */
export function describeOperations(samples: readonly JoinSample[]): string {
  const keys = [...new Set(samples.flatMap((sample) => Object.keys(sample.awsOperations)))].sort();
  return keys
    .map((key) => {
      const values = samples.map((sample) => sample.awsOperations[key] ?? 0);
      const low = Math.min(...values);
      const high = Math.max(...values);
      return `${key} ${low === high ? low : `${low}-${high}`}`;
    })
    .join(', ');
}
