/**
 * npm run packer:versions: writes packer/versions.pkr.hcl from kboot's version tables
 * (src/domain/kubeadm/versions.ts, src/domain/ami/runtime-versions.ts). `--check` only reports
 * whether the file is up to date (exit 1 if not).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKER_VERSIONS_FILE, renderPackerVersions } from '../src/domain/ami/packer-versions.js';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', PACKER_VERSIONS_FILE);
const rendered = renderPackerVersions();
if (process.argv.includes('--check')) {
  const current = readFileSync(file, 'utf8');
  if (current !== rendered) {
    console.error(`${PACKER_VERSIONS_FILE} is out of date: run npm run packer:versions`);
    process.exit(1);
  }
} else {
  writeFileSync(file, rendered);
  console.log(`wrote ${PACKER_VERSIONS_FILE}`);
}
