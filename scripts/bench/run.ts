/**
 * kboot's benchmark (`npm run bench`, which builds first). Not a test: it measures and reports.
 *
 *   node --import tsx scripts/bench/run.ts [--only <section>] [--runs N] [--warmups N] [--binary PATH]
 *
 * Each section is a module in scripts/bench/sections/ (see types.ts); add new ones (worker join
 * overhead, convergence of many instances) to SECTIONS. Results are printed as tables and written
 * to bench-results/<timestamp>.json and bench-results/latest.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findGnuTime } from './lib/measure.js';
import { coldStart } from './sections/cold-start.js';
import type { BenchContext, BenchSection } from './types.js';

const SECTIONS: readonly BenchSection[] = [coldStart];

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--${name} must be a whole number, got "${value}"`);
  return parsed;
}

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
    log: (line) => console.error(`bench: ${line}`),
  };
  if (gnuTime === undefined) {
    ctx.log('WARNING: /usr/bin/time (GNU time, Debian package `time`) not found: peak RSS is not measured');
  }

  const startedAt = new Date();
  const sections: Record<string, unknown> = {};
  for (const section of selected) {
    const result = await section.run(ctx);
    console.log(`\n== ${section.name}: ${section.description}\n${result.text}`);
    sections[section.name] = result.data;
  }

  const report = { startedAt: startedAt.toISOString(), machine: machine(), sections };
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
