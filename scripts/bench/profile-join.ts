/**
 * A worker-join fixture for profiling by hand (not part of `npm run bench`): starts moto and a
 * simulated cluster with its first control-plane instance booted, prepares fresh worker
 * instances, writes each one's environment as a shell file, and waits until stdin closes. The
 * joins are the bench's light joins (scripts/bench/bin/kubeadm); each environment joins once.
 *
 *   node --import tsx scripts/bench/profile-join.ts --out /tmp/kprof [--workers 10] [--instant-version]
 *   (in another shell)  set -a; . /tmp/kprof/worker-1.env; set +a
 *                       node --cpu-prof build/kboot.cjs boot --output json
 */

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchKubeadmEnv, startJoinFixture } from './lib/join-measure.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    workers: { type: 'string', default: '10' },
    'instant-version': { type: 'boolean', default: false },
  },
});
if (values.out === undefined) throw new Error('--out DIR is required');
const out = values.out;
const fixture = await startJoinFixture({
  name: 'profile-join',
  repoRoot,
  binary: path.join(repoRoot, 'dist', 'kboot'),
});
const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
for (let i = 1; i <= Number(values.workers); i++) {
  const execLog = path.join(out, `worker-${i}.exec.log`);
  const instance = await fixture.sim.addInstance('worker', {
    ...benchKubeadmEnv(repoRoot, execLog, values['instant-version'] === true, true),
    KBOOT_TRACE_AWS_CALLS: path.join(out, `worker-${i}.aws.jsonl`),
  });
  const lines = Object.entries(instance.env).map(([key, value]) => `${key}=${quote(value)}`);
  writeFileSync(path.join(out, `worker-${i}.env`), `${lines.join('\n')}\n`);
}
console.error(`profile-join: ${values.workers} worker environments in ${out}; close stdin to stop`);
process.stdin.resume();
await new Promise((resolve) => process.stdin.on('end', resolve));
await fixture.stop();
