#!/usr/bin/env node
// postinstall: makes sure both Node base binaries for the single executable (x64 and arm64) are
// in node_modules at the versions pinned in package-lock.json, with the SHA-256 pinned in
// scripts/node-base-sha256.json, and that node_modules/.bin/node is the host's one, so npm
// scripts, tests and tools run on that Node whatever Node the machine has.
// Idempotent; a no-op when all is in place.
//   node scripts/node-base.mjs          check (postinstall)
//   node scripts/node-base.mjs --pin    record the SHA-256 of the binaries the lockfile pins
//                                       (after upgrading node-base-linux-*; review the diff)
import path from 'node:path';
import { ensureNodeBases, PINS_FILE, writePins } from './lib/node-base.mjs';

const root = path.resolve(import.meta.dirname, '..');
const log = (line) => console.error(`node-base: ${line}`);
const pin = process.argv.includes('--pin');

try {
  const bases = await ensureNodeBases({ root, log, verify: !pin });
  if (pin) {
    const pins = await writePins(root, bases);
    for (const [arch, entry] of Object.entries(pins))
      log(`pinned ${arch}: ${entry.package}@${entry.version} ${entry.sha256}`);
    log(`wrote ${PINS_FILE}`);
  }
  for (const base of Object.values(bases)) {
    log(`${base.arch}: ${base.packageName}@${base.version} (${base.source})`);
  }
} catch (error) {
  console.error(`node-base: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
