/**
 * A worker join's own overhead: `kboot boot` on a fresh worker instance of a cluster that is
 * already initialized (one control-plane instance booted once), from process start to the exec
 * of `kubeadm join`, and how many IMDS requests and AWS API calls it makes. Everything after
 * that exec is kubeadm's time, not kboot's.
 *
 * kboot runs `kubeadm version -o short` before joining (the version-skew check, alongside its
 * state reads), so that call is inside the interval. With the fake kubeadm (a Node.js script) it
 * costs a Node start-up; the real kubeadm (a Go binary) answers in a few milliseconds. So two
 * series run, alternating: one with the fake answering `version`, one with the bench's kubeadm
 * wrapper answering it at once (scripts/bench/bin/kubeadm, KBOOT_BENCH_INSTANT_VERSION). The
 * join itself is the fake's in both.
 */

import { type Joiner, type JoinSample, startJoinFixture, summaryOf } from '../lib/join-measure.js';
import { describeCounts, msRow } from '../lib/join-report.js';
import type { Summary } from '../lib/stats.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

/** Targets (reported, not asserted): DESIGN.md "Performance" and the issue. */
export const TARGETS = { joinOverheadMedianMs: 300, awsCallsPerJoin: 2, imdsRequestsPerJoin: 6 };

/** kboot's steps in the order the join-node flow reports them. */
const STEPS = ['wait-initialized', 'join-material', 'kubeadm-version', 'write-join-config'] as const;

function verdict(withFake: Summary, instant: Summary, samples: readonly JoinSample[]) {
  const awsMax = Math.max(...samples.map((s) => s.awsCalls));
  const imdsMax = Math.max(...samples.map((s) => s.imdsRequests));
  const pass = {
    joinOverheadMedian: withFake.median < TARGETS.joinOverheadMedianMs,
    joinOverheadMedianInstantVersion: instant.median < TARGETS.joinOverheadMedianMs,
    awsCallsPerJoin: awsMax <= TARGETS.awsCallsPerJoin,
    imdsRequestsPerJoin: imdsMax <= TARGETS.imdsRequestsPerJoin,
  };
  const ok = (value: boolean) => (value ? 'ok' : 'OVER');
  const text = [
    `join overhead (target median < ${TARGETS.joinOverheadMedianMs} ms): ${withFake.median.toFixed(1)} ms with the fake's ` +
      `kubeadm version: ${ok(pass.joinOverheadMedian)}; ${instant.median.toFixed(1)} ms with kubeadm version at Go speed: ` +
      ok(pass.joinOverheadMedianInstantVersion),
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
    ctx.log(
      `worker-join: moto, one control-plane instance, then ${joinWarmups} + ${joinRuns} worker joins per series`,
    );
    const fixture = await startJoinFixture({
      name: 'bench-join',
      repoRoot: ctx.repoRoot,
      binary: ctx.binary,
    });
    const fake: Joiner = { kind: 'kboot', binary: ctx.binary, instantVersion: false };
    const instant: Joiner = { kind: 'kboot', binary: ctx.binary, instantVersion: true };
    const samples: JoinSample[] = [];
    const instantSamples: JoinSample[] = [];
    try {
      for (let i = 0; i < joinWarmups; i++) {
        await fixture.join(fake);
        await fixture.join(instant);
      }
      for (let i = 0; i < joinRuns; i++) {
        const order = i % 2 === 0 ? [fake, instant] : [instant, fake];
        for (const joiner of order) {
          const sample = await fixture.join(joiner);
          (joiner === fake ? samples : instantSamples).push(sample);
        }
      }
    } finally {
      await fixture.stop();
    }

    const overhead = summaryOf(samples, (s) => s.toJoinExecMs) as Summary;
    const overheadInstant = summaryOf(instantSamples, (s) => s.toJoinExecMs) as Summary;
    const rows = [
      msRow('start → kubeadm join exec', overhead),
      msRow('  the same, kubeadm version at Go speed', overheadInstant),
      msRow(
        'the kubeadm version call (fake: Node.js)',
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
    const { text: verdictText, pass } = verdict(overhead, overheadInstant, [...samples, ...instantSamples]);
    const text = [
      `kboot boot on a fresh worker of an initialized cluster (1 control-plane, moto, own IMDS), ${joinRuns} runs per series ` +
        `after ${joinWarmups} warm-ups, alternating`,
      table,
      describeCounts([...samples, ...instantSamples]),
      verdictText,
      'note: kboot runs `kubeadm version -o short` before joining (beside its DynamoDB and Secrets Manager reads), so that call ' +
        "is part of its overhead; the fake kubeadm is a Node.js script (a Node start-up per call), the real kubeadm (Go) answers in a few ms: the second row has the bench's kubeadm wrapper answer it at once. " +
        'Steps are kboot\'s own timings (--output json). "kubeadm join exec" is stamped by the wrapper before the fake starts; ' +
        '"fake kubeadm join main()" is the fake\'s startedAtMs, after its Node start-up.',
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
          toJoinExecInstantVersion: overheadInstant,
          versionCall: summaryOf(samples, (s) => s.versionCallMs) ?? null,
          identityKnown: summaryOf(samples, (s) => s.identityKnownMs) ?? null,
          toJoinMain: summaryOf(samples, (s) => s.toJoinMainMs) ?? null,
          exit: summaryOf(samples, (s) => s.exitMs) ?? null,
        },
        samples,
        instantVersionSamples: instantSamples,
      },
    };
  },
};
