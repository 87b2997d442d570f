/**
 * Cold start of the single executable: the commands a user or a shell runs most often and that
 * must feel instant (every TAB of completion starts the binary). For scale, the bare Node base
 * binary running nothing (`node -e 0`) is measured the same way: what kboot adds is the gap.
 */

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Invocation, type Sample, sample } from '../lib/measure.js';
import { type Summary, summarize } from '../lib/stats.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

/** Targets for `kboot --version` (DESIGN.md: completion runs the binary on every TAB). */
export const TARGETS = { versionMedianMs: 50, versionPeakRssMb: 60 };

interface Case {
  label: string;
  invocation: Invocation;
  reference?: boolean;
}

interface CaseResult {
  label: string;
  command: string[];
  reference: boolean;
  wallMs: Summary;
  peakRssMb: Summary | undefined;
  samples: Sample[];
}

function cases(ctx: BenchContext): Case[] {
  const env: NodeJS.ProcessEnv = { ...process.env, KBOOT_LOG_FORMAT: 'json' };
  delete env.NODE_OPTIONS;
  const kboot = (args: string[]): Invocation => ({ command: ctx.binary, args, env });
  const list: Case[] = [
    { label: 'kboot --version', invocation: kboot(['--version']) },
    { label: 'kboot completion bash', invocation: kboot(['completion', 'bash']) },
    { label: 'kboot __complete bash -- jo', invocation: kboot(['__complete', 'bash', '--', 'jo']) },
    {
      label: 'kboot cidr plan --vpc-cidr 10.20.0.0/16 --azs 3',
      invocation: kboot(['cidr', 'plan', '--vpc-cidr', '10.20.0.0/16', '--azs', '3']),
    },
  ];
  const base = path.join(ctx.repoRoot, 'node_modules', `node-base-linux-${process.arch}`, 'bin', 'node');
  if (existsSync(base)) {
    list.push({
      label: 'node -e 0 (the Node base binary, for scale)',
      invocation: { command: base, args: ['-e', '0'], env },
      reference: true,
    });
  }
  return list;
}

const ms = (value: number): string => value.toFixed(1);
const mb = (value: number): string => value.toFixed(1);

function verdict(version: CaseResult | undefined): { text: string; pass: Record<string, boolean | null> } {
  if (version === undefined) return { text: '', pass: {} };
  const timeOk = version.wallMs.median < TARGETS.versionMedianMs;
  const rssOk = version.peakRssMb === undefined ? null : version.peakRssMb.max < TARGETS.versionPeakRssMb;
  const rssText =
    rssOk === null
      ? 'peak RSS not measured'
      : `peak RSS max ${mb(version.peakRssMb?.max ?? 0)} MB (target < ${TARGETS.versionPeakRssMb}): ${rssOk ? 'ok' : 'OVER'}`;
  return {
    text:
      `kboot --version: median ${ms(version.wallMs.median)} ms (target < ${TARGETS.versionMedianMs}): ` +
      `${timeOk ? 'ok' : 'OVER'}; ${rssText}`,
    pass: { versionMedian: timeOk, versionPeakRss: rssOk },
  };
}

export const coldStart: BenchSection = {
  name: 'cold-start',
  description: 'cold start and peak memory of the single executable',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const results: CaseResult[] = [];
    for (const { label, invocation, reference } of cases(ctx)) {
      ctx.log(`cold-start: ${label} (${ctx.warmups} warm-ups, ${ctx.runs} runs)`);
      const samples = sample(invocation, { runs: ctx.runs, warmups: ctx.warmups, gnuTime: ctx.gnuTime });
      const rss = samples.flatMap((s) => (s.peakRssKb === undefined ? [] : [s.peakRssKb / 1024]));
      results.push({
        label,
        command: [invocation.command, ...invocation.args],
        reference: reference === true,
        wallMs: summarize(samples.map((s) => s.wallMs)),
        peakRssMb: rss.length === 0 ? undefined : summarize(rss),
        samples,
      });
    }
    const rows = results.map((r) => [
      r.label,
      ms(r.wallMs.median),
      ms(r.wallMs.p90),
      ms(r.wallMs.min),
      ms(r.wallMs.max),
      r.peakRssMb === undefined ? '-' : mb(r.peakRssMb.median),
      r.peakRssMb === undefined ? '-' : mb(r.peakRssMb.max),
    ]);
    const table = renderTable(
      ['command', 'median ms', 'p90 ms', 'min ms', 'max ms', 'RSS med MB', 'RSS max MB'],
      rows,
    );
    const { text: verdictText, pass } = verdict(results.find((r) => r.label === 'kboot --version'));
    const size = statSync(ctx.binary).size;
    const header = `cold start: ${ctx.binary} (${(size / 1024 / 1024).toFixed(1)} MB), ${ctx.runs} runs each after ${ctx.warmups} warm-ups`;
    const rssNote =
      ctx.gnuTime === undefined
        ? '\npeak RSS not measured: /usr/bin/time (GNU time, Debian package `time`) is not installed'
        : '';
    return {
      text: `${header}\n${table}\n${verdictText}${rssNote}`,
      data: {
        binary: ctx.binary,
        binaryBytes: size,
        runs: ctx.runs,
        warmups: ctx.warmups,
        peakRssTool: ctx.gnuTime ?? null,
        targets: TARGETS,
        pass,
        cases: results.map(({ samples, ...rest }) => ({
          ...rest,
          wallMsSamples: samples.map((s) => Number(s.wallMs.toFixed(3))),
          peakRssKbSamples: samples.map((s) => s.peakRssKb ?? null),
        })),
      },
    };
  },
};
