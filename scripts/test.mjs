#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
//   node scripts/test.mjs            every test under test/
//   node scripts/test.mjs --unit     only tests that need no emulator or binary (test/unit)
//   node scripts/test.mjs FILE...    the given files
// Integration tests start moto and IMDS servers themselves (test/support).
// The tests run on node_modules/.bin/node (the Node the binary ships, linked by the postinstall),
// whichever Node started this script, and find that Node first on PATH (the fake kubeadm and
// kubectl are Node scripts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));
const files = explicit.length > 0 ? explicit : findTests(path.join(root, unitOnly ? 'test/unit' : 'test'));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.KBOOT_TEST_CONCURRENCY ?? '2';
const binDir = path.join(root, 'node_modules', '.bin');
const node = existsSync(path.join(binDir, 'node')) ? path.join(binDir, 'node') : process.execPath;
const result = spawnSync(
  node,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, KBOOT_REPO_ROOT: root, PATH: [binDir, process.env.PATH].join(path.delimiter) },
  },
);
process.exit(result.status ?? 1);
