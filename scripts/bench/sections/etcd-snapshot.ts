/**
 * etcd snapshot to S3: `kboot etcd snapshot --force` (the built binary, with the NODE_OPTIONS of
 * kboot-etcd-snapshot.service) side by side in one run with `etcdctl snapshot save` followed by
 * `aws s3 cp`, against a 1-member TLS etcd (Debian's etcd, certificates of the simulated
 * cluster's etcd CA) filled with `--snapshot-mb` MiB of random 1 MiB values, and moto's S3, all
 * on loopback. Wall time around each command (GNU time wraps it, for the peak RSS: its own fork
 * and exec are a millisecond of seconds). Skipped without etcd, etcdctl or the AWS CLI.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../../../test/support/aws.js';
import { SimCluster } from '../../../test/support/cluster-sim.js';
import { EtcdCluster, etcdMissing } from '../../../test/support/etcd-cluster.js';
import { startMoto } from '../../../test/support/moto.js';
import { renderTable } from '../lib/table.js';
import type { BenchContext, BenchSection, SectionResult } from '../types.js';

const BUCKET = 'bench-etcd-snapshots';
/** What packer/files/kboot-etcd-snapshot.service sets, read from the unit itself. */
const UNIT_NODE_OPTIONS = (() => {
  const unit = readFileSync(
    path.join(import.meta.dirname, '..', '..', '..', 'packer', 'files', 'kboot-etcd-snapshot.service'),
    'utf8',
  );
  const found = /^Environment="NODE_OPTIONS=([^"]*)"$/m.exec(unit)?.[1];
  if (found === undefined) throw new Error('kboot-etcd-snapshot.service sets no NODE_OPTIONS');
  return found;
})();

interface Timed {
  wallMs: number;
  peakRssKb: number | undefined;
  stdout: string;
}

/** Async: the instance's IMDS server runs in this process and must keep answering meanwhile. */
function timed(ctx: BenchContext, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const marker = 'KBOOT_BENCH_PEAK_RSS_KB=';
  const [file, argv] =
    ctx.gnuTime === undefined ? [command, args] : [ctx.gnuTime, ['-f', `${marker}%M`, command, ...args]];
  const startedAt = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    child.on('error', reject);
    child.on('close', (status) => {
      const wallMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      if (status !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited ${status}: ${stderr.slice(-800)}`));
        return;
      }
      const line = stderr.split('\n').findLast((text) => text.startsWith(marker));
      resolve({
        wallMs,
        peakRssKb: line === undefined ? undefined : Number(line.slice(marker.length)),
        stdout,
      });
    });
  });
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const mb = (kb: number | undefined) => (kb === undefined ? '-' : `${(kb / 1024).toFixed(0)} MB`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export const etcdSnapshot: BenchSection = {
  name: 'etcd-snapshot',
  description: 'kboot etcd snapshot (etcd → S3, streamed) vs etcdctl snapshot save + aws s3 cp',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const missing =
      etcdMissing() ?? (onPath('etcdctl') ? (onPath('aws') ? undefined : 'no aws CLI') : 'no etcdctl');
    if (missing !== undefined) return { text: `skipped: ${missing}`, data: { skipped: missing } };
    const { snapshotMb, snapshotRuns } = ctx.options;
    const moto = await startMoto();
    const sim = new SimCluster(moto, {
      name: 'bench-snap',
      nodeConfig: `apiEndpoint: bench.example.com\nbackup: { bucket: ${BUCKET} }\n`,
    });
    let etcd: EtcdCluster | undefined;
    const s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    try {
      await sim.createTable();
      const master = await sim.addInstance('control-plane');
      const booted = await sim.run(master);
      if (booted.exitCode !== 0) throw new Error(`the master did not boot: ${booted.stderr.slice(-800)}`);
      etcd = await EtcdCluster.start([master.privateDns], {
        certPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.crt'),
        keyPath: path.join(sim.clusterDir, 'pki', 'etcd', 'ca.key'),
      });
      const url = etcd.nodes[0]?.clientUrl as string;
      const tls = [
        '--endpoints',
        url,
        '--cacert',
        etcd.client.caPath,
        '--cert',
        etcd.client.certPath,
        '--key',
        etcd.client.keyPath,
      ];
      const etcdctlEnv = { ...process.env, ETCDCTL_API: '3' };
      ctx.log(`etcd-snapshot: writing ${snapshotMb} MiB of random values to etcd`);
      const value = path.join(etcd.dir, 'value');
      for (let i = 0; i < snapshotMb; i += 1) {
        writeFileSync(value, randomBytes(1024 * 1024));
        execFileSync('sh', ['-c', `etcdctl ${tls.join(' ')} put /bench/${i} < ${value}`], {
          env: etcdctlEnv,
          stdio: 'ignore',
        });
      }
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const kbootEnv = {
        ...process.env,
        ...master.env,
        KBOOT_LOG_FORMAT: 'json',
        KBOOT_ETCD_ENDPOINTS: url,
        NODE_OPTIONS: UNIT_NODE_OPTIONS,
      };
      const awsEnv = { ...process.env, ...moto.awsEnv() };
      const rows: string[][] = [];
      const runs: Record<string, unknown>[] = [];
      for (let run = 0; run < snapshotRuns; run += 1) {
        const kboot = await timed(
          ctx,
          ctx.binary,
          ['etcd', 'snapshot', '--force', '--output', 'json'],
          kbootEnv,
        );
        const sizeBytes = (JSON.parse(kboot.stdout) as { snapshot: { sizeBytes: number } }).snapshot
          .sizeBytes;
        const file = path.join(etcd.dir, `reference-${run}.db`);
        const save = await timed(ctx, 'etcdctl', [...tls, 'snapshot', 'save', file], etcdctlEnv);
        const cp = await timed(
          ctx,
          'aws',
          [
            '--endpoint-url',
            moto.endpoint,
            's3',
            'cp',
            '--only-show-errors',
            file,
            `s3://${BUCKET}/reference/${run}.db`,
          ],
          awsEnv,
        );
        const referenceMs = save.wallMs + cp.wallMs;
        rows.push([
          String(run + 1),
          `${(sizeBytes / 1e6).toFixed(0)} MB`,
          s(kboot.wallMs),
          mb(kboot.peakRssKb),
          `${s(save.wallMs)} + ${s(cp.wallMs)} = ${s(referenceMs)}`,
          `${mb(save.peakRssKb)} / ${mb(cp.peakRssKb)}`,
          `${(referenceMs / kboot.wallMs).toFixed(2)}×`,
        ]);
        runs.push({
          sizeBytes,
          kboot: { wallMs: kboot.wallMs, peakRssKb: kboot.peakRssKb },
          etcdctlSave: { wallMs: save.wallMs, peakRssKb: save.peakRssKb },
          awsS3Cp: { wallMs: cp.wallMs, peakRssKb: cp.peakRssKb },
        });
      }
      const text = renderTable(
        [
          'run',
          'database',
          'kboot',
          'kboot peak RSS',
          'etcdctl save + aws s3 cp',
          'their peak RSS',
          'kboot speed-up',
        ],
        rows,
      );
      return {
        text: `${text}\ntargets: kboot at least as fast (speed-up ≥ 1×), peak RSS < 100 MB whatever the size`,
        data: { snapshotMb, runs, nodeOptions: UNIT_NODE_OPTIONS },
      };
    } finally {
      s3.destroy();
      await etcd?.stop();
      await sim.stop();
      await moto.stop();
    }
  },
};
