/**
 * Many instances booting at once: for each size N, a simulated cluster of `controlPlanes`
 * control-plane instances and N workers, every one with its own IMDS server and filesystem root,
 * all started together (`kboot boot`, as user-data would) against one moto (reset between sizes).
 * Measured: the time from `initialized` (the cluster record's initialized.at) to the end of the
 * last `kubeadm join`, the total wall time, failures, and the AWS API calls and IMDS requests of
 * each instance. Also what limits the run on this machine: CPU (all processes share its cores),
 * moto (single-threaded on purpose, test/support/moto_serial.py: its CPU time and a probe
 * request's latency while the cluster boots) and memory (each waiting kboot process holds ~40 MB of
 * anonymous memory; its ~55 MB of binary pages are shared).
 *
 * The instances' processes (kboot and its kubeadm) run at nice 19. On EC2 each instance has CPUs
 * of its own and IMDS and the AWS APIs run elsewhere; here 100+ instances share the machine's cores
 * with moto and the bench process that serves every instance's IMDS. At equal priority (and even at
 * nice 10: 100 processes of weight 110 outweigh one of 1024) the IMDS servers starve and kboot's
 * IMDS client times out (1 s per attempt, bounded retries): a failure of the simulation, not of
 * kboot. The lowest priority for the instances keeps the emulators prompt, and leaves the machine
 * usable for everyone else meanwhile. The processes are started by a small bash launcher
 * (lib/launcher.ts), not by the bench, whose event loop serves every IMDS server.
 *
 * `kubeadm version -o short` (which kboot runs before init and join) is answered by the bench's
 * kubeadm wrapper at once, as the real kubeadm (a Go binary) would: the fake is a Node.js script,
 * and 200 of its start-ups at once on 2 cores outlast kboot's 30 s timeout for that call. A
 * worker's `kubeadm join` is the wrapper's light join (it checks the config's mode, bootstrap
 * token and CA pin against the fake cluster, takes the fake's join time, and records the call):
 * 200 fake joins at once each pay a Node.js start-up and take turns on the fake's cluster lock,
 * which made the last join end minutes after every kboot had exec'd it. kubeadm init and the
 * control-plane joins are the fake's.
 *
 * Memory guard: a size whose estimated footprint does not fit in the memory available is skipped
 * with a message, and a run that drives MemAvailable under a floor is stopped (the bench kills
 * its own kboot process groups), so the bench never pushes the machine into the OOM killer.
 */

import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { testDynamo } from '../../../test/support/aws.js';
import { withTestChildEnv } from '../../../test/support/child-env.js';
import { SimCluster, type SimInstance } from '../../../test/support/cluster-sim.js';
import { type Moto, startMoto } from '../../../test/support/moto.js';
import { benchKubeadmEnv } from '../lib/join-measure.js';
import { type Launch, type LaunchedResult, launchAll } from '../lib/launcher.js';
import { type Summary, summarize } from '../lib/stats.js';
import { cpuSeconds, findChildPid, memoryMb, treeAnonymousMb, wallNowMs } from '../lib/system.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

/**
 * Memory one instance needs at its peak, until a run of MEASURE_FROM_INSTANCES or more measured
 * it: a waiting kboot process holds ~40 MB of anonymous memory, the fake kubeadm ~15 MB, and
 * peaks run higher (measured: 47-52 MB per instance at N=10..100).
 */
const PRIOR_MB_PER_INSTANCE = 80;
const MEASURE_FROM_INSTANCES = 40;
/** Margin on a measured footprint when planning a bigger run. */
const MEMORY_MARGIN = 1.15;
/** Memory left to everything else on the machine when deciding whether a size fits. */
const RESERVE_MB = 3072;
/** A run that drives MemAvailable below this is stopped. */
const ABORT_FLOOR_MB = 1536;
/** Scheduling priority of the instances' processes (see above). */
const INSTANCE_NICE = 19;
const MEMORY_SAMPLE_MS = 200;
/** kboot's message when an IMDS call fails (exit 3). */
const IMDS_FAILURE = /could not reach the instance metadata service/;
/** A run still going after this is stopped (kboot's own --wait-timeout should end it first). */
const RUN_LIMIT_MS = 30 * 60_000;
/** How often the anonymous memory of the run's own processes is summed (it reads /proc per process). */
const TREE_SAMPLE_MS = 500;
const PROBE_EVERY_MS = 500;

interface MinMeanMax {
  mean: number;
  max: number;
  min: number;
}

interface Failure {
  instance: string;
  role: string;
  exitCode: number | null;
  message: string;
  /** Where it failed: in kboot, or in the fake kubeadm's join (after kboot ran it). */
  in: 'kboot' | 'fake-kubeadm-join';
}

interface SizeResult {
  workers: number;
  controlPlanes: number;
  skipped?: string;
  aborted?: string;
  wallMs?: number;
  launchSpreadMs?: number;
  launchToInitializedMs?: number;
  initializedSource?: 'record' | 'kubeadm-init';
  /** initialized → the last instance's exec of `kubeadm join` (every joiner has run join). */
  initializedToLastJoinExecMs?: number;
  /** Instances that exec'd `kubeadm join` (every one but the initializer, when all went well). */
  ranJoin?: number;
  initializedToLastJoinMs?: number;
  initializedToLastWorkerJoinMs?: number;
  initializedToLastControlPlaneJoinMs?: number;
  initializedToLastExitMs?: number;
  failures?: Failure[];
  /** Failures inside the fake kubeadm's join, by its error's first line. */
  fakeJoinErrors?: Record<string, number>;
  inits?: number;
  joins?: number;
  expectedJoins?: number;
  awsCallsPerInstance?: { worker: MinMeanMax; controlPlane: MinMeanMax };
  imdsRequestsPerInstance?: { worker: MinMeanMax; controlPlane: MinMeanMax };
  moto?: {
    awsCalls: number;
    requestsPerSecond: number;
    cpuSeconds: number | null;
    busyShareOfOneCore: number | null;
    probeIdleMs: number | null;
    probeMs: Summary | null;
  };
  cpu?: { cores: number; processesCpuSeconds: number; benchCpuSeconds: number; shareOfAllCores: number };
  memory?: {
    /** Peak of the summed anonymous memory of the run's kboot processes and their kubeadm children. */
    peakProcessesMb: number;
    /** peakProcessesMb per instance: what planning the next size uses. */
    perInstanceMb: number;
    /** Machine-wide: memory in use before the run, and the peak increase (other users included). */
    baselineUsedMb: number;
    peakUsedDeltaMb: number;
    minAvailableMb: number;
  };
  instances?: InstanceOutcome[];
}

interface InstanceOutcome {
  name: string;
  role: string;
  exitCode: number | null;
  /** Launch → this kboot's exit. */
  exitMs: number;
  awsCalls: number;
  imdsRequests: number;
  imdsByPath: Record<string, number>;
}

function minMeanMax(values: readonly number[]): MinMeanMax {
  if (values.length === 0) return { min: 0, mean: 0, max: 0 };
  return {
    min: Math.min(...values),
    mean: values.reduce((sum, value) => sum + value, 0) / values.length,
    max: Math.max(...values),
  };
}

function lineCount(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** The bench kubeadm wrapper's stamps: "<epoch µs> <command>" per line. */
function readExecStamps(file: string): { atMs: number; command: string }[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [micros, command] = line.split(' ');
      return { atMs: Number(micros) / 1000, command: command ?? '' };
    });
}

/** Latency of one cheap request to moto; served in turn with kboot's, so it shows moto's queue. */
async function probeMoto(moto: Moto): Promise<number | undefined> {
  const startMs = wallNowMs();
  try {
    const response = await fetch(`${moto.endpoint}/moto-api/`, { signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    return wallNowMs() - startMs;
  } catch {
    return undefined;
  }
}

async function initializedAtMs(moto: Moto, sim: SimCluster): Promise<number | undefined> {
  const dynamodb = testDynamo(moto);
  try {
    const output = await dynamodb.send(
      new GetItemCommand({
        TableName: sim.table,
        Key: { pk: { S: `cluster#${sim.name}` }, sk: { S: 'meta' } },
        ConsistentRead: true,
      }),
    );
    const at = output.Item?.initialized?.M?.at?.S;
    return at === undefined ? undefined : Date.parse(at);
  } catch {
    return undefined;
  } finally {
    dynamodb.destroy();
  }
}

/**
 * Watches memory while a run goes on: machine-wide MemAvailable (calls `onFloor` once if it drops
 * under the floor) and the anonymous memory of the run's own process trees.
 */
function watchMemory(pids: () => readonly (number | undefined)[], onFloor: (availableMb: number) => void) {
  const first = memoryMb();
  let peakProcessesMb = 0;
  const tree = setInterval(() => {
    let sumMb = 0;
    for (const pid of pids()) if (pid !== undefined) sumMb += treeAnonymousMb(pid);
    peakProcessesMb = Math.max(peakProcessesMb, sumMb);
  }, TREE_SAMPLE_MS);
  const baselineUsedMb = first === undefined ? 0 : first.totalMb - first.availableMb;
  let peakUsedMb = baselineUsedMb;
  let minAvailableMb = first?.availableMb ?? Number.POSITIVE_INFINITY;
  let tripped = false;
  const timer = setInterval(() => {
    const now = memoryMb();
    if (now === undefined) return;
    peakUsedMb = Math.max(peakUsedMb, now.totalMb - now.availableMb);
    minAvailableMb = Math.min(minAvailableMb, now.availableMb);
    if (!tripped && now.availableMb < ABORT_FLOOR_MB) {
      tripped = true;
      onFloor(now.availableMb);
    }
  }, MEMORY_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      clearInterval(tree);
      return {
        peakProcessesMb,
        baselineUsedMb,
        peakUsedDeltaMb: peakUsedMb - baselineUsedMb,
        minAvailableMb,
      };
    },
  };
}

function probeLoop(moto: Moto) {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const latency = await probeMoto(moto);
      if (latency !== undefined) latencies.push(latency);
      if (running) await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return latencies;
    },
  };
}

interface Settings {
  repoRoot: string;
  binary: string;
  controlPlanes: number;
  kubeadmSleep: string;
  pollMs: number;
  waitTimeout: string;
  /** MB per instance to plan with (measured by the previous size, else the prior). */
  mbPerInstance: number;
  log(line: string): void;
}

async function runSize(moto: Moto, workers: number, settings: Settings): Promise<SizeResult> {
  const { controlPlanes } = settings;
  const instancesTotal = controlPlanes + workers;
  const base: SizeResult = { workers, controlPlanes };
  const memory = memoryMb();
  const neededMb = instancesTotal * settings.mbPerInstance;
  if (memory !== undefined && neededMb > memory.availableMb - RESERVE_MB) {
    return {
      ...base,
      skipped:
        `needs about ${(neededMb / 1024).toFixed(1)} GiB (${instancesTotal} instances x ${settings.mbPerInstance.toFixed(0)} MB), ` +
        `${(memory.availableMb / 1024).toFixed(1)} GiB available with ${(RESERVE_MB / 1024).toFixed(0)} GiB kept free`,
    };
  }

  const sim = new SimCluster(moto, {
    name: `conv${workers}`,
    env: { FAKE_KUBEADM_SLEEP_MS: settings.kubeadmSleep, KBOOT_POLL_MS: String(settings.pollMs) },
  });
  try {
    await sim.createTable();
    const traces = new Map<SimInstance, string>();
    const execLogs = new Map<SimInstance, string>();
    const add = async (role: 'control-plane' | 'worker') => {
      const index = sim.instances.length;
      const trace = path.join(sim.dir, `aws-${index}.jsonl`);
      const execLog = path.join(sim.dir, `exec-${index}.log`);
      const instance = await sim.addInstance(role, {
        ...benchKubeadmEnv(settings.repoRoot, execLog, true, true),
        KBOOT_TRACE_AWS_CALLS: trace,
      });
      traces.set(instance, trace);
      execLogs.set(instance, execLog);
    };
    settings.log(
      `convergence: N=${workers}: creating ${instancesTotal} instances in moto, each with its IMDS server`,
    );
    for (let i = 0; i < controlPlanes; i++) await add('control-plane');
    for (let i = 0; i < workers; i++) await add('worker');

    const motoPid = findChildPid(['moto_serial.py', String(moto.port)]);
    const idle = await probeMoto(moto);
    const motoCpuBefore = motoPid === undefined ? undefined : cpuSeconds(motoPid)?.own;
    const selfBefore = cpuSeconds('self');
    let aborted: string | undefined;
    let launch: Launch | undefined;
    const watcher = watchMemory(
      () => [launch?.pid],
      (availableMb) => {
        aborted = `stopped: MemAvailable fell to ${availableMb.toFixed(0)} MB (floor ${ABORT_FLOOR_MB} MB)`;
        settings.log(`convergence: N=${workers}: ${aborted}; killing its kboot processes`);
        launch?.kill();
      },
    );
    const probes = probeLoop(moto);
    settings.log(`convergence: N=${workers}: starting ${instancesTotal} kboot processes at once`);
    const args = ['boot', '--output', 'json', '--wait-timeout', settings.waitTimeout];
    // The masters' kboot-approve-csrs.timer: the joining kubelets wait for it (the processes are
    // launched below, not through sim.run, which would start it).
    sim.csrTimer?.start();
    launch = await launchAll(
      sim.instances.map((instance) => ({
        command: settings.binary,
        args,
        env: withTestChildEnv(instance.env),
      })),
      { dir: path.join(sim.dir, 'launch'), nice: INSTANCE_NICE },
    );
    const launchMs = launch.startedAtMs;
    const launchSpreadMs = launch.startedAllAtMs - launch.startedAtMs;
    const guard = setTimeout(() => {
      aborted = `stopped: still running after ${RUN_LIMIT_MS / 60_000} min`;
      launch?.kill();
    }, RUN_LIMIT_MS);
    const launched = await launch.done;
    clearTimeout(guard);
    const lastExitMs = Math.max(...launched.map((result) => result.exitAtMs ?? 0));
    const wallMs = (lastExitMs > 0 ? lastExitMs : wallNowMs()) - launchMs;
    const probeLatencies = await probes.stop();
    const memoryUse = watcher.stop();
    const selfAfter = cpuSeconds('self');
    const motoCpuAfter = motoPid === undefined ? undefined : cpuSeconds(motoPid)?.own;

    const roleOf = new Map(sim.instances.map((instance) => [instance.root, instance.role]));
    const invocations = sim.invocations();
    const inits = invocations.filter((call) => call.command === 'init' && call.exitCode === 0);
    const joins = invocations.filter((call) => call.command === 'join' && call.exitCode === 0);
    const recordAtMs = await initializedAtMs(moto, sim);
    const initEndMs = inits[0]?.endedAtMs;
    const initializedMs = recordAtMs ?? initEndMs;
    const lastEnd = (role?: string): number | undefined => {
      const ends = joins
        .filter((call) => role === undefined || roleOf.get(call.env.KBOOT_ROOT ?? '') === role)
        .map((call) => call.endedAtMs);
      return ends.length === 0 ? undefined : Math.max(...ends);
    };
    const since = (endMs: number | undefined) =>
      endMs === undefined || initializedMs === undefined ? undefined : endMs - initializedMs;

    const joinExecAtMs = (instance: SimInstance): number | undefined =>
      readExecStamps(execLogs.get(instance) ?? '').findLast((stamp) => stamp.command === 'join')?.atMs;
    const joinExecs = sim.instances.map(joinExecAtMs).filter((at): at is number => at !== undefined);
    const failedJoins = invocations.filter((call) => call.command === 'join' && call.exitCode !== 0);
    const failedJoinRoots = new Set(failedJoins.map((call) => call.env.KBOOT_ROOT));
    const fakeJoinErrors: Record<string, number> = {};
    for (const call of failedJoins) {
      const first = String(call.error ?? `exit ${call.exitCode}`).split('\n')[0] ?? '';
      fakeJoinErrors[first] = (fakeJoinErrors[first] ?? 0) + 1;
    }
    const failures: Failure[] = [];
    launched.forEach((result, index) => {
      const instance = sim.instances[index] as SimInstance;
      if (result.exitCode === 0) return;
      failures.push({
        instance: instance.name,
        role: instance.role,
        exitCode: result.exitCode,
        message: failureText(result),
        in: failedJoinRoots.has(instance.root) ? 'fake-kubeadm-join' : 'kboot',
      });
    });
    const perInstance = (role: 'worker' | 'control-plane', pick: (instance: SimInstance) => number) =>
      minMeanMax(sim.instances.filter((instance) => instance.role === role).map(pick));
    const awsCalls = (instance: SimInstance) => lineCount(traces.get(instance) ?? '');
    const imds = (instance: SimInstance) => instance.imds.counts.total;
    const totalAwsCalls = sim.instances.reduce((sum, instance) => sum + awsCalls(instance), 0);
    const motoCpu =
      motoCpuBefore === undefined || motoCpuAfter === undefined ? null : motoCpuAfter - motoCpuBefore;
    const processesCpu = (selfAfter?.children ?? 0) - (selfBefore?.children ?? 0);
    const benchCpu = (selfAfter?.own ?? 0) - (selfBefore?.own ?? 0);
    const cores = os.cpus().length;
    const wallSeconds = wallMs / 1000;
    return {
      ...base,
      ...(aborted === undefined ? {} : { aborted }),
      wallMs,
      launchSpreadMs,
      launchToInitializedMs: initializedMs === undefined ? undefined : initializedMs - launchMs,
      initializedSource: recordAtMs === undefined ? 'kubeadm-init' : 'record',
      initializedToLastJoinExecMs: joinExecs.length === 0 ? undefined : since(Math.max(...joinExecs)),
      ranJoin: joinExecs.length,
      initializedToLastJoinMs: since(lastEnd()),
      initializedToLastWorkerJoinMs: since(lastEnd('worker')),
      initializedToLastControlPlaneJoinMs: since(lastEnd('control-plane')),
      initializedToLastExitMs: since(lastExitMs > 0 ? lastExitMs : undefined),
      failures,
      fakeJoinErrors,
      inits: inits.length,
      joins: joins.length,
      expectedJoins: instancesTotal - 1,
      awsCallsPerInstance: {
        worker: perInstance('worker', awsCalls),
        controlPlane: perInstance('control-plane', awsCalls),
      },
      imdsRequestsPerInstance: {
        worker: perInstance('worker', imds),
        controlPlane: perInstance('control-plane', imds),
      },
      moto: {
        awsCalls: totalAwsCalls,
        requestsPerSecond: totalAwsCalls / wallSeconds,
        cpuSeconds: motoCpu,
        busyShareOfOneCore: motoCpu === null ? null : motoCpu / wallSeconds,
        probeIdleMs: idle ?? null,
        probeMs: probeLatencies.length === 0 ? null : summarize(probeLatencies),
      },
      cpu: {
        cores,
        processesCpuSeconds: processesCpu,
        benchCpuSeconds: benchCpu,
        shareOfAllCores: (processesCpu + benchCpu + (motoCpu ?? 0)) / (wallSeconds * cores),
      },
      memory: { ...memoryUse, perInstanceMb: memoryUse.peakProcessesMb / instancesTotal },
      instances: sim.instances.map((instance, index) => ({
        name: instance.name,
        role: instance.role,
        exitCode: launched[index]?.exitCode ?? null,
        exitMs: (launched[index]?.exitAtMs ?? launchMs) - launchMs,
        awsCalls: awsCalls(instance),
        imdsRequests: imds(instance),
        imdsByPath: instance.imds.counts.byPath,
      })),
    };
  } finally {
    await sim.stop();
    rmSync(sim.dir, { recursive: true, force: true });
  }
}

function failureText(result: LaunchedResult): string {
  if (result.error !== undefined) return result.error.msg;
  if (result.exitCode === null) return 'no exit status (killed with the launcher)';
  if (result.exitCode > 128) return `killed by signal ${result.exitCode - 128}`;
  return result.stderr.trim().split('\n').slice(-1)[0]?.slice(0, 300) ?? '';
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
const meanMax = (value: MinMeanMax | undefined): string =>
  value === undefined ? '-' : `${value.mean.toFixed(1)} / ${value.max}`;
const percent = (share: number | null | undefined): string =>
  share === null || share === undefined ? '-' : `${(share * 100).toFixed(0)}%`;

function render(results: readonly SizeResult[]): string {
  const column = (pick: (result: SizeResult) => string) =>
    results.map((result) => (result.skipped !== undefined ? 'skipped' : pick(result)));
  const rows: string[][] = [
    ['instances (control-plane + workers)', ...results.map((r) => `${r.controlPlanes} + ${r.workers}`)],
    [
      'failed instances: in kboot / in the fake kubeadm join',
      ...column((r) => {
        const inKboot = (r.failures ?? []).filter((failure) => failure.in === 'kboot').length;
        return `${inKboot} / ${(r.failures?.length ?? 0) - inKboot}`;
      }),
    ],
    [
      'kubeadm init / ran join / joins that succeeded (expected)',
      ...column((r) => `${r.inits} / ${r.ranJoin} / ${r.joins} (${r.expectedJoins})`),
    ],
    ['launch → initialized (s)', ...column((r) => seconds(r.launchToInitializedMs))],
    [
      'initialized → every instance ran kubeadm join (s)',
      ...column((r) => seconds(r.initializedToLastJoinExecMs)),
    ],
    ['initialized → last join end (s)', ...column((r) => seconds(r.initializedToLastJoinMs))],
    ['  → last worker join end (s)', ...column((r) => seconds(r.initializedToLastWorkerJoinMs))],
    ['  → last control-plane join end (s)', ...column((r) => seconds(r.initializedToLastControlPlaneJoinMs))],
    ['  → last kboot exit (s)', ...column((r) => seconds(r.initializedToLastExitMs))],
    ['total wall time (s)', ...column((r) => seconds(r.wallMs))],
    ['  of which starting the processes (s)', ...column((r) => seconds(r.launchSpreadMs))],
    ['AWS calls per worker (mean / max)', ...column((r) => meanMax(r.awsCallsPerInstance?.worker))],
    [
      'AWS calls per control-plane (mean / max)',
      ...column((r) => meanMax(r.awsCallsPerInstance?.controlPlane)),
    ],
    ['IMDS requests per worker (mean / max)', ...column((r) => meanMax(r.imdsRequestsPerInstance?.worker))],
    [
      'IMDS requests per control-plane (mean / max)',
      ...column((r) => meanMax(r.imdsRequestsPerInstance?.controlPlane)),
    ],
    [
      'moto: AWS calls served, per second',
      ...column((r) => `${r.moto?.awsCalls} (${r.moto?.requestsPerSecond.toFixed(1)}/s)`),
    ],
    ['moto: CPU busy (share of its one thread)', ...column((r) => percent(r.moto?.busyShareOfOneCore))],
    [
      'moto: probe latency median / max (ms)',
      ...column((r) =>
        r.moto?.probeMs === null || r.moto === undefined
          ? '-'
          : `${r.moto.probeMs.median.toFixed(0)} / ${r.moto.probeMs.max.toFixed(0)} (idle ${r.moto.probeIdleMs?.toFixed(0) ?? '-'})`,
      ),
    ],
    ['CPU busy, all cores (kboot, kubeadm, moto, bench)', ...column((r) => percent(r.cpu?.shareOfAllCores))],
    [
      'peak anonymous memory of the run (GiB), per instance (MB)',
      ...column((r) =>
        r.memory === undefined
          ? '-'
          : `${(r.memory.peakProcessesMb / 1024).toFixed(1)}, ${r.memory.perInstanceMb.toFixed(0)}`,
      ),
    ],
    [
      'machine: peak memory increase (GiB), min available (GiB)',
      ...column((r) =>
        r.memory === undefined
          ? '-'
          : `${(r.memory.peakUsedDeltaMb / 1024).toFixed(1)}, ${(r.memory.minAvailableMb / 1024).toFixed(1)}`,
      ),
    ],
  ];
  return renderTable(['', ...results.map((r) => `N=${r.workers}`)], rows);
}

function bottleneck(result: SizeResult): string | undefined {
  if (result.skipped !== undefined || result.cpu === undefined || result.moto === undefined) return undefined;
  const motoBusy = result.moto.busyShareOfOneCore ?? 0;
  const parts = [
    `N=${result.workers}: the ${result.cpu.cores} cores were ${percent(result.cpu.shareOfAllCores)} busy ` +
      `(kboot and the fake kubeadm ${result.cpu.processesCpuSeconds.toFixed(0)} CPU-s, moto ${result.moto.cpuSeconds?.toFixed(0) ?? '?'} CPU-s, ` +
      `the bench's IMDS servers ${result.cpu.benchCpuSeconds.toFixed(0)} CPU-s)`,
  ];
  if (motoBusy >= 0.8) {
    parts.push(`moto is a bottleneck: its one thread was busy ${percent(motoBusy)} of the wall time`);
  } else if (result.cpu.shareOfAllCores >= 0.8) {
    parts.push(
      `CPU-bound: ${result.controlPlanes + result.workers} processes starting on ${result.cpu.cores} cores; moto was busy ${percent(motoBusy)}`,
    );
  } else {
    parts.push(`moto was busy ${percent(motoBusy)}`);
  }
  const probe = result.moto.probeMs;
  if (probe !== null && motoBusy < 0.5 && probe.max > 10 * (result.moto.probeIdleMs ?? probe.min)) {
    parts.push(
      `moto's slow answers (probe max ${probe.max.toFixed(0)} ms) were waits for a CPU, not for moto`,
    );
  }
  return parts.join('; ');
}

export const convergence: BenchSection = {
  name: 'convergence',
  description: 'control-plane and worker instances booting at once: initialized → last join, failures, calls',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { sizes, controlPlanes, kubeadmSleep, pollMs, waitTimeout } = ctx.options;
    const moto = await startMoto();
    const results: SizeResult[] = [];
    let mbPerInstance = PRIOR_MB_PER_INSTANCE;
    try {
      for (const [index, workers] of sizes.entries()) {
        if (index > 0) await moto.reset();
        const result = await runSize(moto, workers, {
          repoRoot: ctx.repoRoot,
          binary: ctx.binary,
          controlPlanes,
          kubeadmSleep,
          pollMs,
          waitTimeout,
          mbPerInstance,
          log: ctx.log,
        });
        if (result.skipped !== undefined) ctx.log(`convergence: N=${workers} skipped: ${result.skipped}`);
        if (result.memory !== undefined && controlPlanes + workers >= MEASURE_FROM_INSTANCES) {
          mbPerInstance = result.memory.perInstanceMb * MEMORY_MARGIN;
        }
        results.push(result);
      }
    } finally {
      await moto.stop();
    }

    const largest = [...results].reverse().find((result) => result.skipped === undefined);
    const failureLines = results.flatMap((result) =>
      (result.failures ?? []).map(
        (failure) =>
          `N=${result.workers} ${failure.instance} (${failure.in}): exit ${failure.exitCode}: ${failure.message}`,
      ),
    );
    const targetSize = 200;
    const atTarget = results.find((result) => result.workers >= targetSize && result.skipped === undefined);
    const targetPass =
      atTarget === undefined
        ? null
        : atTarget.aborted === undefined &&
          (atTarget.failures?.length ?? 1) === 0 &&
          atTarget.inits === 1 &&
          atTarget.joins === atTarget.expectedJoins;
    const kbootClean = (result: SizeResult) =>
      result.aborted === undefined &&
      (result.failures ?? []).every((failure) => failure.in !== 'kboot') &&
      result.inits === 1 &&
      result.ranJoin === result.expectedJoins;
    const lines = [
      `each size: ${controlPlanes} control-plane + N worker instances started at once against one moto (reset between sizes), ` +
        `each with its own IMDS server; FAKE_KUBEADM_SLEEP_MS=${kubeadmSleep}, KBOOT_POLL_MS=${pollMs}, --wait-timeout ${waitTimeout}; ` +
        `instances at nice ${INSTANCE_NICE} (moto and the IMDS servers stand in for services that are not on an instance's CPU); ` +
        "`kubeadm version` answered at Go speed and worker joins checked and recorded by the bench's kubeadm wrapper " +
        "(light join: config mode, token and CA pin; the fake's join time); init and control-plane joins by the fake kubeadm",
      render(results),
      ...results
        .flatMap((result) => [
          bottleneck(result),
          result.aborted,
          result.skipped && `N=${result.workers} skipped: ${result.skipped}`,
        ])
        .filter((line): line is string => typeof line === 'string'),
      failureLines.length === 0
        ? 'failures: none'
        : `failures (${failureLines.length}):\n  ${failureLines.slice(0, 10).join('\n  ')}`,
      ...results.flatMap((result) =>
        Object.entries(result.fakeJoinErrors ?? {}).map(
          ([message, count]) => `N=${result.workers}: ${count} fake kubeadm join(s) failed with: ${message}`,
        ),
      ),
      ...results.flatMap((result) => {
        const starved = (result.failures ?? []).filter((failure) =>
          IMDS_FAILURE.test(failure.message),
        ).length;
        if (starved === 0) return [];
        return [
          `N=${result.workers}: ${starved} of ${result.failures?.length} failures are IMDS calls that ran out of kboot's deadline ` +
            `while ${result.controlPlanes + result.workers} instance processes shared ${os.cpus().length} cores ` +
            '(the IMDS servers answered others meanwhile; "after 0 attempts" means the process never got the CPU to send): ' +
            'the simulated instances starving, where on EC2 each has CPUs of its own',
        ];
      }),
      ...(atTarget === undefined
        ? [
            `${targetSize} workers converge with zero failures: not run here (largest run: N=${largest?.workers ?? '-'})`,
          ]
        : [
            `${targetSize} workers converge with zero failures: ${targetPass ? 'ok' : 'FAILED'} ` +
              `(kboot's part, every instance reaching kubeadm join with no kboot failure: ${kbootClean(atTarget) ? 'ok' : 'FAILED'})`,
          ]),
    ];
    return {
      text: lines.join('\n'),
      data: {
        controlPlanes,
        sizes,
        fakeKubeadmSleepMs: kubeadmSleep,
        pollMs,
        waitTimeout,
        instanceNice: INSTANCE_NICE,
        kubeadmVersion: 'answered by scripts/bench/bin/kubeadm (KBOOT_BENCH_INSTANT_VERSION=1)',
        memoryGuard: {
          reserveMb: RESERVE_MB,
          abortFloorMb: ABORT_FLOOR_MB,
          priorMbPerInstance: PRIOR_MB_PER_INSTANCE,
        },
        pass: {
          twoHundredWorkersZeroFailures: targetPass,
          twoHundredWorkersKbootReachedJoin: atTarget === undefined ? null : kbootClean(atTarget),
        },
        results,
      },
    };
  },
};
