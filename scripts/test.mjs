#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
//   node scripts/test.mjs            every test under test/
//   node scripts/test.mjs --unit     only tests that need no emulator or binary (test/unit)
//   node scripts/test.mjs FILE...    the given files
//   --record-durations               also write each file's time to test/durations.json
// Files start longest first (by test/durations.json; files it does not list yet first of all),
// so the longest file does not start last and leave one slot idle at the end, as Jest orders
// files by their recorded times.
// Integration tests start moto and IMDS servers themselves (test/support).
// The tests run on node_modules/.bin/node (the Node the binary ships, linked by the postinstall),
// whichever Node started this script, and find that Node first on PATH (the fake kubeadm and
// kubectl are Node scripts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

const durationsFile = path.join(root, 'test', 'durations.json');

/** Longest first by the recorded seconds; a file not recorded yet (new) goes first. */
function longestFirst(files) {
  const recorded = existsSync(durationsFile) ? JSON.parse(readFileSync(durationsFile, 'utf8')) : {};
  const seconds = (file) =>
    recorded[path.relative(root, path.resolve(root, file)).split(path.sep).join('/')] ?? Infinity;
  return files
    .map((file) => ({ file, s: seconds(file) }))
    .sort((a, b) => b.s - a.s || a.file.localeCompare(b.file))
    .map(({ file }) => file);
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const recordDurations = args.includes('--record-durations');
const explicit = args.filter((a) => !a.startsWith('--'));
const files = longestFirst(
  explicit.length > 0 ? explicit : findTests(path.join(root, unitOnly ? 'test/unit' : 'test')),
);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.KBOOT_TEST_CONCURRENCY ?? '2';
const binDir = path.join(root, 'node_modules', '.bin');
const node = existsSync(path.join(binDir, 'node')) ? path.join(binDir, 'node') : process.execPath;
const result = spawnSync(
  node,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    ...(recordDurations
      ? [
          `--test-reporter=${path.join(root, 'scripts', 'test-durations-reporter.mjs')}`,
          '--test-reporter-destination=stderr',
        ]
      : []),
    ...files,
  ],
  {
    stdio: 'inherit',
    cwd: root,
    env: {
      ...process.env,
      KBOOT_REPO_ROOT: root,
      ...(recordDurations ? { KBOOT_TEST_DURATIONS_OUT: durationsFile } : {}),
      PATH: [binDir, process.env.PATH].join(path.delimiter),
    },
  },
);
process.exit(result.status ?? 1);
