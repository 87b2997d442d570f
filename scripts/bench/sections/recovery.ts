/**
 * The recovery of a lost control plane, simulated: the time from a replacement control-plane
 * instance's `kboot boot` start to the cluster initialized again (restored from the newest etcd
 * snapshot: PKI secret read, the members' EC2 states and probes, the snapshot downloaded from S3,
 * checked and restored with etcdctl into a one-member data directory, the fake kubeadm's init over
 * it, join material and the fenced record), beside a first init (`kboot boot` on the first master)
 * in the same run. A fresh simulated cluster per run (moto, the fake kubeadm), a real etcd for the
 * snapshot. Skipped without etcd and etcdctl.
 */

import path from 'node:path';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, testEc2 } from '../../../test/support/aws.js';
import { SimCluster } from '../../../test/support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../../test/support/etcd-cluster.js';
import { startMoto } from '../../../test/support/moto.js';
import { summarize } from '../lib/stats.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

const RUNS = 3;
const BUCKET = 'bench-recovery';

async function bootMs(
  sim: SimCluster,
  instance: Parameters<SimCluster['run']>[0],
  expect: string,
): Promise<number> {
  const startedMs = performance.now();
  const result = await sim.run(instance, ['boot', '--output', 'json']);
  const took = performance.now() - startedMs;
  const outcome =
    result.exitCode === 0 ? (JSON.parse(result.stdout) as { outcome: string }).outcome : 'failed';
  if (outcome !== expect)
    throw new Error(`kboot boot ended ${outcome}, not ${expect}: ${result.stderr.slice(-1500)}`);
  return took;
}

export const recovery: BenchSection = {
  name: 'recovery',
  description: 'a lost control plane restored from its snapshot, beside a first init (simulated)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const missing = etcdMissing();
    if (missing !== undefined) return { text: `skipped: ${missing}`, data: { skipped: missing } };
    const moto = await startMoto();
    const s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    const ec2 = testEc2(moto);
    const inits: number[] = [];
    const recoveries: number[] = [];
    try {
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      for (let run = 0; run < RUNS; run += 1) {
        const sim = new SimCluster(moto, {
          name: `rec${run}`,
          nodeConfig: `apiEndpoint: rec${run}-api.invalid\nbackup: { bucket: ${BUCKET} }\n`,
        });
        let etcd: EtcdCluster | undefined;
        try {
          await sim.createTable();
          const first = await sim.addInstance('control-plane');
          inits.push(await bootMs(sim, first, 'initialized'));
          etcd = await EtcdCluster.start([first.privateDns], {
            certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
            keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
          });
          first.env.KBOOT_ETCD_ENDPOINTS = etcd.nodes.map((node) => node.clientUrl).join(',');
          const snap = await sim.run(first, ['etcd', 'snapshot', '--force']);
          if (snap.exitCode !== 0) throw new Error(`kboot etcd snapshot failed: ${snap.stderr.slice(-800)}`);
          await etcd.stop();
          etcd = undefined;
          await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first.instanceId] }));
          const replacement = await sim.addInstance('control-plane');
          recoveries.push(await bootMs(sim, replacement, 'restored'));
          ctx.log(
            `recovery run ${run + 1}/${RUNS}: init ${inits.at(-1)?.toFixed(0)} ms, recovery ${recoveries.at(-1)?.toFixed(0)} ms`,
          );
        } finally {
          await etcd?.stop();
          await sim.stop();
        }
      }
    } finally {
      s3.destroy();
      ec2.destroy();
      await moto.stop();
    }
    const init = summarize(inits);
    const restore = summarize(recoveries);
    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const text = renderTable(
      ['kboot boot on a control-plane instance', 'median', 'min', 'max', 'runs'],
      [
        ['first init (start → initialized)', fmt(init.median), fmt(init.min), fmt(init.max), String(RUNS)],
        [
          'recovery (replacement start → initialized again)',
          fmt(restore.median),
          fmt(restore.min),
          fmt(restore.max),
          String(RUNS),
        ],
      ],
    );
    return { text, data: { runs: RUNS, initMs: inits, recoveryMs: recoveries, init, recovery: restore } };
  },
};
