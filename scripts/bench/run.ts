/**
 * kboot's benchmark (`npm run bench`, which builds first). Not a test: it measures and reports.
 *
 *   node --import tsx scripts/bench/run.ts [--only <section>]... [--binary PATH]
 *     [--runs N] [--warmups N]                 cold start (default 30 after 3)
 *     [--join-runs N] [--join-warmups N]       worker-join, aws-cli-join (default 15 after 2)
 *     [--sizes 10,50,200] [--control-planes 3] convergence: workers per run, masters per run
 *     [--kubeadm-sleep init=2000,join=1000]    convergence: FAKE_KUBEADM_SLEEP_MS
 *     [--poll-ms 3000] [--wait-timeout 10m]    convergence: KBOOT_POLL_MS, kboot --wait-timeout
 *     [--snapshot-mb 200] [--snapshot-runs 2]  etcd-snapshot: MiB written to etcd, measured runs
 *
 * Sections (scripts/bench/sections/, see types.ts): cold-start, worker-join, aws-cli-join,
 * convergence, etcd-snapshot, recovery. Results are printed as tables and written to bench-results/<timestamp>.json and
 * bench-results/latest.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findGnuTime } from './lib/measure.js';
import { awsCliJoin } from './sections/aws-cli-join.js';
import { coldStart } from './sections/cold-start.js';
import { convergence } from './sections/convergence.js';
import { etcdSnapshot } from './sections/etcd-snapshot.js';
import { recovery } from './sections/recovery.js';
import { workerJoin } from './sections/worker-join.js';
import type { BenchContext, BenchSection } from './types.js';

const SECTIONS: readonly BenchSection[] = [
  coldStart,
  workerJoin,
  awsCliJoin,
  convergence,
  etcdSnapshot,
  recovery,
];

/** The whole default bench should finish within this on the 2-core reference machine. */
const BUDGET_MS = 10 * 60_000;

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--${name} must be a whole number, got "${value}"`);
  return parsed;
}

function sizeList(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const sizes = value.split(',').map((item) => item.trim());
  if (sizes.some((size) => !/^\d+$/.test(size) || Number(size) < 1)) {
    throw new Error(`--sizes must be a comma-separated list of worker counts (10,50,200), got "${value}"`);
  }
  return sizes.map(Number);
}

const loadNow = (): number[] => os.loadavg().map((load) => Number(load.toFixed(2)));

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
    harnessNode: process.version,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      runs: { type: 'string' },
      warmups: { type: 'string' },
      binary: { type: 'string' },
      'join-runs': { type: 'string' },
      'join-warmups': { type: 'string' },
      sizes: { type: 'string' },
      'control-planes': { type: 'string' },
      'kubeadm-sleep': { type: 'string' },
      'poll-ms': { type: 'string' },
      'wait-timeout': { type: 'string' },
      'snapshot-mb': { type: 'string' },
      'snapshot-runs': { type: 'string' },
    },
  });
  const selected =
    values.only === undefined ? SECTIONS : SECTIONS.filter((section) => values.only?.includes(section.name));
  if (selected.length === 0) {
    throw new Error(
      `no such section: ${values.only?.join(', ')} (have: ${SECTIONS.map((s) => s.name).join(', ')})`,
    );
  }
  const gnuTime = findGnuTime();
  const ctx: BenchContext = {
    repoRoot,
    binary: path.resolve(values.binary ?? path.join(repoRoot, 'dist', 'kboot')),
    runs: positiveInt('runs', values.runs, 30),
    warmups: positiveInt('warmups', values.warmups, 3),
    gnuTime,
    options: {
      joinRuns: positiveInt('join-runs', values['join-runs'], 15),
      joinWarmups: positiveInt('join-warmups', values['join-warmups'], 2),
      sizes: sizeList(values.sizes, [10, 50, 200]),
      controlPlanes: positiveInt('control-planes', values['control-planes'], 3),
      kubeadmSleep: values['kubeadm-sleep'] ?? 'init=2000,join=1000',
      pollMs: positiveInt('poll-ms', values['poll-ms'], 3000),
      waitTimeout: values['wait-timeout'] ?? '10m',
      snapshotMb: positiveInt('snapshot-mb', values['snapshot-mb'], 200),
      snapshotRuns: positiveInt('snapshot-runs', values['snapshot-runs'], 2),
    },
    log: (line) => console.error(`bench: ${line}`),
  };
  if (ctx.options.joinRuns < 1) throw new Error('--join-runs must be at least 1');
  if (ctx.options.controlPlanes < 1) throw new Error('--control-planes must be at least 1');
  if (gnuTime === undefined) {
    ctx.log('WARNING: /usr/bin/time (GNU time, Debian package `time`) not found: peak RSS is not measured');
  }

  ctx.log(`harness on Node ${process.version}`);
  const [loadOneMinute = 0] = os.loadavg();
  const cores = os.cpus().length;
  if (loadOneMinute > cores) {
    ctx.log(
      `WARNING: the machine is busy (load average ${loadOneMinute.toFixed(1)} on ${cores} cores): ` +
        'timings will be slower and noisier than on an idle machine',
    );
  }

  const startedAt = new Date();
  const sections: Record<string, unknown> = {};
  for (const section of selected) {
    const loadBefore = loadNow();
    const sectionStartMs = Date.now();
    const result = await section.run(ctx);
    const durationMs = Date.now() - sectionStartMs;
    const loadAfter = loadNow();
    console.log(
      `\n== ${section.name}: ${section.description}\n${result.text}\n` +
        `(${(durationMs / 1000).toFixed(1)} s; load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')})`,
    );
    sections[section.name] = {
      ...result.data,
      durationMs,
      loadAverage: { before: loadBefore, after: loadAfter },
    };
  }
  const totalMs = Date.now() - startedAt.getTime();
  const overBudget = values.only === undefined && totalMs > BUDGET_MS;
  console.log(
    `\nbench took ${(totalMs / 1000).toFixed(1)} s` +
      (overBudget ? ` (over the ${BUDGET_MS / 60_000} min budget: use smaller --sizes or fewer runs)` : ''),
  );

  const report = {
    startedAt: startedAt.toISOString(),
    durationMs: totalMs,
    machine: machine(),
    options: { runs: ctx.runs, warmups: ctx.warmups, ...ctx.options },
    sections,
  };
  const dir = path.join(repoRoot, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(path.join(dir, `${stamp}.json`), json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  console.log(`\nresults: bench-results/${stamp}.json (and bench-results/latest.json)`);
}

main().catch((error: unknown) => {
  console.error(`bench: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
