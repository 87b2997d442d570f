#!/usr/bin/env node
// postinstall: makes sure both Node base binaries for the single executable (x64 and arm64) are
// in node_modules at the versions pinned in package-lock.json, and removes the
// node_modules/.bin/node link npm makes for them. Idempotent; a no-op when all is in place.
//   node scripts/node-base.mjs
import path from 'node:path';
import { ensureNodeBases } from './lib/node-base.mjs';

const root = path.resolve(import.meta.dirname, '..');
const log = (line) => console.error(`node-base: ${line}`);

try {
  const bases = await ensureNodeBases({ root, log });
  for (const base of Object.values(bases)) {
    log(`${base.arch}: ${base.packageName}@${base.version} (${base.source})`);
  }
} catch (error) {
  console.error(`node-base: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
