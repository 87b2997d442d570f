/**
 * kboot against the hand-written alternative: the same worker join done by
 * scripts/bench/reference/join-node.sh (curl for IMDSv2, `aws ec2 describe-tags`,
 * `aws dynamodb get-item`, `aws secretsmanager get-secret-value`, jq, a heredoc, kubeadm join),
 * side by side in one run: the same moto, a fresh worker instance with its own IMDS server for
 * every join, the same fake kubeadm (which checks the token and the CA hash, so both must really
 * join), the same interval (start → exec of `kubeadm join`). kboot's `kubeadm version` is answered
 * by the bench's kubeadm wrapper at once, as the real kubeadm (Go) would (the test suite's fake is
 * a Node.js script); the joins are the wrapper's light joins, which check the token and the CA pin,
 * so both must really join. The order alternates every round, so drift in the machine's load falls
 * on both joiners alike.
 *
 * Both reach moto through the same counting proxy (lib/aws-call-counter.ts), which is how their
 * AWS calls are counted with one instrument; it adds well under a millisecond per call to each.
 * Credentials come from the environment for both (on EC2 both would read the instance profile).
 */

import path from 'node:path';
import { type AwsCallCounter, startAwsCallCounter } from '../lib/aws-call-counter.js';
import {
  type Joiner,
  type JoinerLabel,
  type JoinSample,
  joinerLabel,
  REFERENCE_SCRIPT,
  startJoinFixture,
  summaryOf,
} from '../lib/join-measure.js';
import { describeCounts, msRow } from '../lib/join-report.js';
import { findReferenceTools } from '../lib/reference-tools.js';
import type { Summary } from '../lib/stats.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

/** kboot should be at least this many times faster than the AWS CLI script (reported, not asserted). */
export const TARGET_SPEEDUP = 5;

export const awsCliJoin: BenchSection = {
  name: 'aws-cli-join',
  description: 'the same worker join by kboot and by a bash + AWS CLI user-data script, side by side',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const lookup = findReferenceTools();
    if (lookup.tools === undefined) {
      const message = `skipped: the reference script needs ${lookup.missing.join(', ')}, missing on this machine`;
      ctx.log(`aws-cli-join: ${message}`);
      return { text: message, data: { skipped: true, missing: lookup.missing } };
    }
    const tools = lookup.tools;
    const { joinRuns, joinWarmups } = ctx.options;
    ctx.log(
      `aws-cli-join: ${tools.awsVersion} (${tools.aws}); ${joinWarmups} + ${joinRuns} joins per joiner, alternating order`,
    );

    const kboot: Joiner = { kind: 'kboot', binary: ctx.binary, instantVersion: true };
    const script: Joiner = { kind: 'aws-cli', script: REFERENCE_SCRIPT, pathPrefix: path.dirname(tools.aws) };
    const joiners = [kboot, script];
    const fixture = await startJoinFixture({ name: 'bench-cli', repoRoot: ctx.repoRoot, binary: ctx.binary });
    let counter: AwsCallCounter | undefined;
    const samples: Record<JoinerLabel, JoinSample[]> = {
      kboot: [],
      'kboot-fake-version': [],
      'aws-cli': [],
    };
    try {
      counter = await startAwsCallCounter(fixture.moto.endpoint);
      for (let i = 0; i < joinWarmups; i++) for (const joiner of joiners) await fixture.join(joiner, counter);
      for (let i = 0; i < joinRuns; i++) {
        // Alternate the order every round, so drift in the machine's load falls on both joiners alike.
        const order = joiners.map((_, k) => joiners[(i + k) % joiners.length] as Joiner);
        for (const joiner of order) samples[joinerLabel(joiner)].push(await fixture.join(joiner, counter));
      }
    } finally {
      await counter?.stop();
      await fixture.stop();
    }

    const kbootExec = summaryOf(samples.kboot, (s) => s.toJoinExecMs) as Summary;
    const scriptExec = summaryOf(samples['aws-cli'], (s) => s.toJoinExecMs) as Summary;
    const ratio = kbootExec.median / scriptExec.median;
    const speedup = scriptExec.median / kbootExec.median;
    const rows = [
      msRow('kboot: start → kubeadm join exec', kbootExec),
      msRow('aws-cli script: start → kubeadm join exec', scriptExec),
      msRow(
        'kboot: start → exit (light join included)',
        summaryOf(samples.kboot, (s) => s.exitMs),
      ),
      msRow(
        'aws-cli script: start → exit (light join included)',
        summaryOf(samples['aws-cli'], (s) => s.exitMs),
      ),
    ];
    const table = renderTable(['interval (ms)', 'median', 'p90', 'min', 'max'], rows);
    const pass = { speedup: speedup >= TARGET_SPEEDUP };
    const verdict = (value: boolean) => (value ? 'ok' : 'UNDER');
    const text = [
      `the same worker join, ${joinRuns} runs per joiner after ${joinWarmups} warm-ups, in alternating order; ${tools.awsVersion}` +
        `${tools.awsShim === undefined ? '' : ` (${tools.aws}, the pyenv shim ${tools.awsShim} bypassed)`}`,
      table,
      describeCounts(samples.kboot, 'per join, kboot'),
      describeCounts(samples['aws-cli'], 'per join, aws-cli script'),
      `ratio kboot/aws-cli (medians, start → kubeadm join exec): ${ratio.toFixed(3)}, kboot ${speedup.toFixed(1)}x faster ` +
        `(target >= ${TARGET_SPEEDUP}x): ${verdict(pass.speedup)}`,
      "note: kboot checks kubeadm's version before joining, the script does not; the bench's kubeadm wrapper answers " +
        '`kubeadm version` at once, as the real one (Go) does. The script starts one AWS CLI process per call (a Python ' +
        'start-up each). AWS calls are counted at a pass-through proxy in front of moto, for both joiners.',
    ].join('\n');
    return {
      text,
      data: {
        runs: joinRuns,
        warmups: joinWarmups,
        awsCli: { path: tools.aws, shim: tools.awsShim ?? null, version: tools.awsVersion },
        curl: tools.curl,
        jq: tools.jq,
        script: path.relative(ctx.repoRoot, REFERENCE_SCRIPT),
        targetSpeedup: TARGET_SPEEDUP,
        pass,
        ratioKbootToAwsCli: Number(ratio.toFixed(4)),
        speedup: Number(speedup.toFixed(2)),
        summaryMs: {
          kboot: { toJoinExec: kbootExec },
          awsCli: { toJoinExec: scriptExec },
        },
        samples,
      },
    };
  },
};
