// A reporter for Node's test runner that adds up, per test file, the time of its top-level
// tests, and writes them (seconds, relative paths, longest first) over the ones already in
// KBOOT_TEST_DURATIONS_OUT when the run ends (files that no longer exist are dropped). `node scripts/test.mjs --record-durations` uses it to refresh
// test/durations.json, from which every run orders its files longest first.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export default async function* durations(source) {
  const perFile = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting, file, details } = event.data;
    if (nesting !== 0 || !file) continue;
    perFile.set(file, (perFile.get(file) ?? 0) + (details?.duration_ms ?? 0));
  }
  const root = process.env.KBOOT_REPO_ROOT ?? process.cwd();
  const out = process.env.KBOOT_TEST_DURATIONS_OUT;
  if (!out) return;
  const known = existsSync(out) ? Object.entries(JSON.parse(readFileSync(out, 'utf8'))) : [];
  const measured = [...perFile].map(([file, ms]) => [
    path.relative(root, file).split(path.sep).join('/'),
    Math.round(ms / 100) / 10,
  ]);
  const merged = new Map([...known, ...measured]);
  const entries = [...merged]
    .filter(([file]) => existsSync(path.join(root, file)))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  writeFileSync(out, `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`);
  yield '';
}
