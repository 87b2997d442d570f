/**
 * kboot against the hand-written alternative: the same worker join done by
 * scripts/bench/reference/join-node.sh (curl for IMDSv2, `aws ec2 describe-tags`,
 * `aws dynamodb get-item`, `aws secretsmanager get-secret-value`, jq, a heredoc, kubeadm join),
 * side by side in one run: the same moto, a fresh worker instance with its own IMDS server for
 * every join, the same fake kubeadm (which checks the token and the CA hash, so both must really
 * join), the same interval (start → exec of `kubeadm join`). The joiners alternate, and their
 * order flips every pair, so drift in the machine's load falls on both alike.
 *
 * Both reach moto through the same counting proxy (lib/aws-call-counter.ts), which is how their
 * AWS calls are counted with one instrument; it adds well under a millisecond per call to each.
 * Credentials come from the environment for both (on EC2 both would read the instance profile).
 */

import path from 'node:path';
import { type AwsCallCounter, startAwsCallCounter } from '../lib/aws-call-counter.js';
import {
  type Joiner,
  type JoinSample,
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
      `aws-cli-join: ${tools.awsVersion} (${tools.aws}); ${joinWarmups} + ${joinRuns} joins each, alternating`,
    );

    const kboot: Joiner = { kind: 'kboot', binary: ctx.binary };
    const script: Joiner = { kind: 'aws-cli', script: REFERENCE_SCRIPT, pathPrefix: path.dirname(tools.aws) };
    const fixture = await startJoinFixture({ name: 'bench-cli', repoRoot: ctx.repoRoot, binary: ctx.binary });
    let counter: AwsCallCounter | undefined;
    const samples: Record<Joiner['kind'], JoinSample[]> = { kboot: [], 'aws-cli': [] };
    try {
      counter = await startAwsCallCounter(fixture.moto.endpoint);
      for (let i = 0; i < joinWarmups; i++) {
        await fixture.join(kboot, counter);
        await fixture.join(script, counter);
      }
      for (let i = 0; i < joinRuns; i++) {
        const order = i % 2 === 0 ? [kboot, script] : [script, kboot];
        for (const joiner of order) samples[joiner.kind].push(await fixture.join(joiner, counter));
      }
    } finally {
      await counter?.stop();
      await fixture.stop();
    }

    const kbootExec = summaryOf(samples.kboot, (s) => s.toJoinExecMs) as Summary;
    const kbootLess = summaryOf(samples.kboot, (s) => s.toJoinExecLessVersionMs) as Summary;
    const scriptExec = summaryOf(samples['aws-cli'], (s) => s.toJoinExecMs) as Summary;
    const ratio = kbootExec.median / scriptExec.median;
    const speedup = scriptExec.median / kbootExec.median;
    const speedupLessVersion = scriptExec.median / kbootLess.median;
    const rows = [
      msRow('kboot: start → kubeadm join exec', kbootExec),
      msRow('kboot:   less its kubeadm version call', kbootLess),
      msRow('aws-cli script: start → kubeadm join exec', scriptExec),
      msRow(
        'kboot: start → exit (join included)',
        summaryOf(samples.kboot, (s) => s.exitMs),
      ),
      msRow(
        'aws-cli script: start → exit (join included)',
        summaryOf(samples['aws-cli'], (s) => s.exitMs),
      ),
    ];
    const table = renderTable(['interval (ms)', 'median', 'p90', 'min', 'max'], rows);
    const pass = speedup >= TARGET_SPEEDUP;
    const text = [
      `the same worker join, ${joinRuns} runs each after ${joinWarmups} warm-ups, alternating; ${tools.awsVersion}` +
        `${tools.awsShim === undefined ? '' : ` (${tools.aws}, the pyenv shim ${tools.awsShim} bypassed)`}`,
      table,
      describeCounts(samples.kboot, 'per join, kboot'),
      describeCounts(samples['aws-cli'], 'per join, aws-cli script'),
      `ratio kboot/aws-cli (median, start → kubeadm join exec): ${ratio.toFixed(3)}; kboot is ${speedup.toFixed(1)}x faster ` +
        `(target >= ${TARGET_SPEEDUP}x): ${pass ? 'ok' : 'UNDER'}; ${speedupLessVersion.toFixed(1)}x without kboot's kubeadm version call, ` +
        'which the script does not make',
      'note: the script runs one AWS CLI process per call (a Python start-up each); AWS calls counted at a pass-through proxy in front of moto, for both',
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
        pass: { speedup: pass },
        ratioKbootToAwsCli: Number(ratio.toFixed(4)),
        speedup: Number(speedup.toFixed(2)),
        speedupWithoutVersionCall: Number(speedupLessVersion.toFixed(2)),
        summaryMs: {
          kboot: { toJoinExec: kbootExec, toJoinExecLessVersion: kbootLess },
          awsCli: { toJoinExec: scriptExec },
        },
        samples,
      },
    };
  },
};
