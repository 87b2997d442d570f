/**
 * A worker join's own overhead: `kboot boot` on a fresh worker instance of a cluster that is
 * already initialized (one control-plane instance booted once), from process start to the exec
 * of `kubeadm join`, and how many IMDS requests and AWS API calls it makes. Everything after
 * that exec is kubeadm's time, not kboot's.
 *
 * kboot runs `kubeadm version -o short` before joining (the version-skew check), so that call is
 * inside the interval. With the fake kubeadm (a Node.js script) it costs a Node start-up; the
 * real kubeadm (a Go binary) answers in a few milliseconds. The table shows the interval with and
 * without it.
 */

import { type JoinSample, startJoinFixture, summaryOf } from '../lib/join-measure.js';
import { describeCounts, msRow } from '../lib/join-report.js';
import type { Summary } from '../lib/stats.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

/** Targets (reported, not asserted): DESIGN.md "Performance" and the issue. */
export const TARGETS = { joinOverheadMedianMs: 300, awsCallsPerJoin: 2, imdsRequestsPerJoin: 6 };

/** kboot's steps in the order the join-node flow runs them. */
const STEPS = ['wait-initialized', 'join-material', 'kubeadm-version', 'write-join-config'] as const;

function verdict(overhead: Summary, less: Summary, samples: readonly JoinSample[]) {
  const awsMax = Math.max(...samples.map((s) => s.awsCalls));
  const imdsMax = Math.max(...samples.map((s) => s.imdsRequests));
  const pass = {
    joinOverheadMedian: overhead.median < TARGETS.joinOverheadMedianMs,
    awsCallsPerJoin: awsMax <= TARGETS.awsCallsPerJoin,
    imdsRequestsPerJoin: imdsMax <= TARGETS.imdsRequestsPerJoin,
  };
  const ok = (value: boolean) => (value ? 'ok' : 'OVER');
  const text = [
    `join overhead: median ${overhead.median.toFixed(1)} ms (target < ${TARGETS.joinOverheadMedianMs}): ${ok(pass.joinOverheadMedian)}; ` +
      `without the kubeadm version call ${less.median.toFixed(1)} ms`,
    `AWS API calls per join: max ${awsMax} (target <= ${TARGETS.awsCallsPerJoin}): ${ok(pass.awsCallsPerJoin)}; ` +
      `IMDS requests per join: max ${imdsMax} (target <= ${TARGETS.imdsRequestsPerJoin}, instance metadata tags on): ${ok(pass.imdsRequestsPerJoin)}`,
  ].join('\n');
  return { text, pass };
}

export const workerJoin: BenchSection = {
  name: 'worker-join',
  description: "a worker join's own overhead: process start → kubeadm join exec; IMDS and AWS calls",
  async run(ctx: BenchContext): Promise<SectionResult> {
    const { joinRuns, joinWarmups } = ctx.options;
    ctx.log(`worker-join: moto, one control-plane instance, then ${joinWarmups} + ${joinRuns} worker joins`);
    const fixture = await startJoinFixture({
      name: 'bench-join',
      repoRoot: ctx.repoRoot,
      binary: ctx.binary,
    });
    const samples: JoinSample[] = [];
    try {
      const joiner = { kind: 'kboot', binary: ctx.binary } as const;
      for (let i = 0; i < joinWarmups; i++) await fixture.join(joiner);
      for (let i = 0; i < joinRuns; i++) samples.push(await fixture.join(joiner));
    } finally {
      await fixture.stop();
    }

    const overhead = summaryOf(samples, (s) => s.toJoinExecMs) as Summary;
    const less = summaryOf(samples, (s) => s.toJoinExecLessVersionMs) as Summary;
    const rows = [
      msRow('start → kubeadm join exec', overhead),
      msRow('  less the kubeadm version call', less),
      msRow(
        '  the kubeadm version call (fake: Node.js)',
        summaryOf(samples, (s) => s.versionCallMs),
      ),
      msRow(
        'start → identity known (first log line)',
        summaryOf(samples, (s) => s.identityKnownMs),
      ),
      ...STEPS.map((step) =>
        msRow(
          `  step ${step}`,
          summaryOf(samples, (s) => s.stepsMs[step] ?? null),
        ),
      ),
      msRow(
        'start → fake kubeadm join main()',
        summaryOf(samples, (s) => s.toJoinMainMs),
      ),
      msRow(
        'start → kboot exit (join included)',
        summaryOf(samples, (s) => s.exitMs),
      ),
    ];
    const table = renderTable(['interval (ms)', 'median', 'p90', 'min', 'max'], rows);
    const { text: verdictText, pass } = verdict(overhead, less, samples);
    const text = [
      `kboot boot on a fresh worker of an initialized cluster (1 control-plane, moto, own IMDS), ${joinRuns} runs after ${joinWarmups} warm-ups`,
      table,
      describeCounts(samples),
      verdictText,
      'note: kboot runs `kubeadm version -o short` before joining, so that call is part of its overhead; here it is the ' +
        'fake kubeadm, a Node.js script (a Node start-up), where the real kubeadm (Go) takes a few ms. ' +
        '"kubeadm join exec" is stamped by the bench\'s kubeadm wrapper before the fake starts; "fake kubeadm join main()" ' +
        "is the fake's own startedAtMs, after its Node start-up.",
    ].join('\n');
    return {
      text,
      data: {
        runs: joinRuns,
        warmups: joinWarmups,
        controlPlaneInitMs: Number(fixture.initMs.toFixed(1)),
        targets: TARGETS,
        pass,
        summaryMs: {
          toJoinExec: overhead,
          toJoinExecLessVersion: less,
          versionCall: summaryOf(samples, (s) => s.versionCallMs) ?? null,
          identityKnown: summaryOf(samples, (s) => s.identityKnownMs) ?? null,
          toJoinMain: summaryOf(samples, (s) => s.toJoinMainMs) ?? null,
          exit: summaryOf(samples, (s) => s.exitMs) ?? null,
        },
        samples,
      },
    };
  },
};
