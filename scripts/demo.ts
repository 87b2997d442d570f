/**
 * npm run demo: kboot's main job, locally. A simulated cluster boots against moto: 3
 * control-plane and 3 worker instances start at once, each with its own IMDS server and
 * filesystem root, the built kboot binary and the fake kubeadm. Prints each instance's progress
 * and a summary (who initialized, join order, how long each took). Exits non-zero if any
 * instance failed.
 *   npm run demo -- --masters 3 --workers 10
 */

import { parseArgs } from 'node:util';
import { SimCluster, type SimInstance } from '../test/support/cluster-sim.js';
import { startMoto } from '../test/support/moto.js';

const { values } = parseArgs({
  options: {
    masters: { type: 'string', default: '3' },
    workers: { type: 'string', default: '3' },
    quiet: { type: 'boolean', default: false },
  },
});
const masters = Number(values.masters);
const workers = Number(values.workers);

const COLORS = [36, 33, 35, 32, 34, 31];
const useColor = process.stdout.isTTY === true;
const paint = (index: number, text: string): string =>
  useColor ? `\u001b[${COLORS[index % COLORS.length]}m${text}\u001b[0m` : text;

function progress(instance: SimInstance, index: number, line: string): void {
  if (values.quiet || !line.startsWith('{')) return;
  try {
    const log = JSON.parse(line) as { level: string; msg: string };
    if (log.level === 'debug' || log.level === 'trace') return;
    process.stdout.write(`${paint(index, instance.name.padEnd(16))} ${log.level.padEnd(5)} ${log.msg}\n`);
  } catch {
    // not a log line
  }
}

async function main(): Promise<number> {
  process.stdout.write(
    `starting moto and ${masters} control-plane + ${workers} worker instances (harness on Node ${process.version})…\n`,
  );
  const moto = await startMoto();
  const sim = new SimCluster(moto, { name: 'demo', env: { FAKE_KUBEADM_SLEEP_MS: 'init=2000,join=500' } });
  try {
    await sim.createTable();
    const instances: SimInstance[] = [];
    for (let i = 0; i < masters; i += 1) instances.push(await sim.addInstance('control-plane'));
    for (let i = 0; i < workers; i += 1) instances.push(await sim.addInstance('worker'));
    const startedMs = Date.now();
    const results = await Promise.all(
      instances.map((instance, index) =>
        sim
          .run(instance, ['boot', '--output', 'json'], {
            onStderrLine: (line) => progress(instance, index, line),
          })
          .then((result) => ({ instance, result, tookMs: Date.now() - startedMs })),
      ),
    );

    const invocations = sim
      .invocations()
      .filter((i) => (i.command === 'init' || i.command === 'join') && i.exitCode === 0);
    const byRoot = new Map(instances.map((instance) => [instance.root, instance]));
    process.stdout.write('\nsummary\n');
    process.stdout.write(
      `${'instance'.padEnd(16)} ${'role'.padEnd(14)} ${'outcome'.padEnd(22)} ${'kubeadm'.padEnd(8)} done after\n`,
    );
    for (const { instance, result, tookMs } of results) {
      const outcome =
        result.exitCode === 0
          ? (JSON.parse(result.stdout) as { outcome: string }).outcome
          : `FAILED (exit ${result.exitCode})`;
      const ran = invocations.find((i) => i.env.KBOOT_ROOT === instance.root)?.command ?? '-';
      process.stdout.write(
        `${instance.name.padEnd(16)} ${instance.role.padEnd(14)} ${outcome.padEnd(22)} ${ran.padEnd(8)} ${(tookMs / 1000).toFixed(1)} s\n`,
      );
      if (result.exitCode !== 0) process.stdout.write(`${result.error?.msg ?? result.stderr.slice(-500)}\n`);
    }
    const order = invocations.map((i) => `${byRoot.get(i.env.KBOOT_ROOT ?? '')?.name ?? '?'} (${i.command})`);
    process.stdout.write(`\norder of kubeadm runs: ${order.join(' → ')}\n`);
    const inits = invocations.filter((i) => i.command === 'init').length;
    const failed = results.filter(({ result }) => result.exitCode !== 0).length;
    process.stdout.write(
      failed === 0 && inits === 1
        ? `all ${results.length} instances joined; exactly one kubeadm init; ${((Date.now() - startedMs) / 1000).toFixed(1)} s in all\n`
        : `${failed} instance(s) failed, ${inits} init(s)\n`,
    );
    return failed === 0 && inits === 1 ? 0 : 1;
  } finally {
    await sim.stop();
    await moto.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
