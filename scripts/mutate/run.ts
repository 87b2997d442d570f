/**
 * npm run mutate: StrykerJS over the correctness core (groups.ts), one group at a time, each
 * against only the test files that cover it, through Stryker's TAP runner (Node's test runner
 * with tsx; coverage per test file, so a mutant runs only the files that reach it). A group whose
 * tests need moto gets one moto_server for all its mutants. Reports per group under
 * reports/mutation/<group>/ (index.html, mutation.json), and a score table per module at the end.
 *   npm run mutate                          every group
 *   npm run mutate -- leases record         the named groups
 *   npm run mutate -- --concurrency 2       test runners side by side (default 1)
 *   npm run mutate -- --incremental         reuse the last run's results where code and tests did not change
 *   npm run mutate -- --timeout-factor 3    more room before a slow test run counts as a timeout (a loaded machine)
 *   npm run mutate -- record-dynamodb --only src/adapters/aws/dynamodb-mark-initialized.ts
 *                                           one module of a group (a slow group in parts; reports under <group>/<module>/)
 * Run it niced on a shared machine: nice -n 15 npm run mutate.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Stryker } from '@stryker-mutator/core';
import { type Moto, startMoto } from '../../test/support/moto.js';
import { GROUPS, type MutationGroup } from './groups.js';

type StrykerOptions = NonNullable<ConstructorParameters<typeof Stryker>[0]>;
type LogLevel = NonNullable<StrykerOptions['logLevel']>;

const root = path.resolve(import.meta.dirname, '..', '..');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    concurrency: { type: 'string', default: '1' },
    incremental: { type: 'boolean', default: false },
    // A mutant's test run times out after timeout-factor times the tests' own time in the first
    // run, plus timeout-ms. On a machine whose load rises during the run, tests slow down by more
    // than 1.5 and time out without a mutant hanging them: the mutant counts as detected and is not.
    'timeout-factor': { type: 'string', default: '1.5' },
    'timeout-ms': { type: 'string', default: '5000' },
    only: { type: 'string', multiple: true, default: [] },
  },
});

const unknown = positionals.filter((name) => !GROUPS.some((g) => g.name === name));
if (unknown.length > 0) {
  console.error(`unknown group(s): ${unknown.join(', ')}; groups: ${GROUPS.map((g) => g.name).join(', ')}`);
  process.exit(2);
}
const chosen = (positionals.length === 0 ? GROUPS : GROUPS.filter((g) => positionals.includes(g.name))).map(
  (group): MutationGroup & { reportName: string } => {
    if (values.only.length === 0) return { ...group, reportName: group.name };
    // A module outside the group has no tests that reach it here: every mutant would be no coverage.
    const part = values.only.map((file) => path.basename(file, '.ts')).join('+');
    return { ...group, mutate: values.only, reportName: path.join(group.name, part) };
  },
);

interface ModuleScore {
  group: string;
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  other: number;
}

function options(group: MutationGroup & { reportName: string }): StrykerOptions {
  const reportDir = path.join('reports', 'mutation', group.reportName);
  const nodeArgs = ['--import', 'tsx', '--test-reporter=tap'];
  for (const pattern of group.skip?.patterns ?? []) nodeArgs.push(`--test-skip-pattern=${pattern}`);
  return {
    mutate: group.mutate,
    testRunner: 'tap',
    plugins: ['@stryker-mutator/tap-runner'],
    // forceBail would kill a test file at its first failing subtest, before the TAP line of its
    // describe block: Stryker then sees exit code 1 and no failure, and reports an error instead of a kill.
    tap: { testFiles: group.tests, nodeArgs, forceBail: false },
    coverageAnalysis: 'perTest',
    concurrency: Number(values.concurrency),
    // The test files run in a copy of the repository: keep out what no test reads.
    ignorePatterns: ['/dist', '/.cache', '/bench-results', '/packer/output*'],
    tempDirName: '.stryker-tmp',
    // Stryker would rewrite tsconfig.json in the sandbox with TypeScript's JS API, which
    // TypeScript 7 no longer has; tsx needs no tsconfig, so point Stryker at none.
    tsconfigFile: 'tsconfig.stryker-none.json',
    reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
    clearTextReporter: { allowColor: false, logTests: false, reportTests: false },
    htmlReporter: { fileName: path.join(reportDir, 'index.html') },
    jsonReporter: { fileName: path.join(reportDir, 'mutation.json') },
    incremental: values.incremental,
    incrementalFile: path.join(reportDir, 'incremental.json'),
    timeoutMS: Number(values['timeout-ms']),
    timeoutFactor: Number(values['timeout-factor']),
    logLevel: 'info' as LogLevel,
    fileLogLevel: 'off' as LogLevel,
    thresholds: { high: 90, low: 90, break: null },
  };
}

async function runGroup(
  group: MutationGroup & { reportName: string },
): Promise<{ scores: ModuleScore[]; seconds: number }> {
  const started = Date.now();
  let moto: Moto | undefined;
  const saved = process.env.KBOOT_TEST_MOTO_ENDPOINT;
  // The tests find the sandbox copy of the repository from their own path, not from this root.
  delete process.env.KBOOT_REPO_ROOT;
  if (group.moto === true) {
    moto = await startMoto();
    process.env.KBOOT_TEST_MOTO_ENDPOINT = moto.endpoint;
  }
  try {
    const results = await new Stryker(options(group)).runMutationTest();
    const byFile = new Map<string, ModuleScore>();
    for (const result of results) {
      const file = path.relative(root, path.resolve(root, result.fileName));
      const score = byFile.get(file) ?? {
        group: group.name,
        file,
        killed: 0,
        timeout: 0,
        survived: 0,
        noCoverage: 0,
        other: 0,
      };
      if (result.status === 'Killed') score.killed++;
      else if (result.status === 'Timeout') score.timeout++;
      else if (result.status === 'Survived') score.survived++;
      else if (result.status === 'NoCoverage') score.noCoverage++;
      else score.other++;
      byFile.set(file, score);
    }
    return {
      scores: [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file)),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await moto?.stop();
    if (saved === undefined) delete process.env.KBOOT_TEST_MOTO_ENDPOINT;
    else process.env.KBOOT_TEST_MOTO_ENDPOINT = saved;
  }
}

/** killed / (killed + survived), timeouts counted as killed; mutants no test reaches count as survived. */
function percent(s: Pick<ModuleScore, 'killed' | 'timeout' | 'survived' | 'noCoverage'>): string {
  const detected = s.killed + s.timeout;
  const total = detected + s.survived + s.noCoverage;
  return total === 0 ? 'n/a' : `${((100 * detected) / total).toFixed(1)} %`;
}

const summary: string[] = [
  '| group | module | killed | timeout | survived | no coverage | errors | score |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
const times: string[] = [];
for (const group of chosen) {
  console.log(`\n== mutation group ${group.name}: ${group.why}`);
  const { scores, seconds } = await runGroup(group);
  for (const s of scores) {
    summary.push(
      `| ${s.group} | \`${s.file}\` | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.noCoverage} | ${s.other} | ${percent(s)} |`,
    );
  }
  times.push(`${group.name}: ${Math.round(seconds)} s`);
}
const text = `${summary.join('\n')}\n\nrun time: ${times.join(', ')}\n`;
mkdirSync(path.join(root, 'reports', 'mutation'), { recursive: true });
writeFileSync(path.join(root, 'reports', 'mutation', 'summary.md'), text);
console.log(`\n${text}`);
