/**
 * No file under src/ grows above 500 lines: a module that long does several jobs, and a newcomer
 * reads it whole to change one. Data files (tables of images and manifests) are the exception,
 * each named below with why it is data; split anything else into modules with one job each.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/paths.js';

const MAX_LINES = 500;

/** Files allowed above the limit, relative to src/, with why each is data rather than logic. */
const DATA_FILES: Readonly<Record<string, string>> = {
  'domain/addons/cilium.ts':
    "the pinned Cilium release's images and manifests (service accounts, RBAC, ConfigMap, DaemonSet, Deployment) as object literals: data, not logic",
};

const src = path.join(repoRoot(), 'src');

function lineCount(file: string): number {
  const text = readFileSync(file, 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** Every .ts file under src/, as `domain/addons/cilium.ts`, with its line count. */
const sizes = new Map(
  readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => [file.split(path.sep).join('/'), lineCount(path.join(src, file))]),
);

describe('size of the files under src/', () => {
  it('reads the files it measures', () => {
    assert.ok(sizes.size > 100, `${sizes.size} files under src/`);
    assert.ok((sizes.get('domain/addons/cilium.ts') ?? 0) > 0);
  });

  it(`keeps every file at ${MAX_LINES} lines or fewer, data files excepted`, () => {
    const tooLong = [...sizes]
      .filter(([file, lines]) => lines > MAX_LINES && DATA_FILES[file] === undefined)
      .map(([file, lines]) => `src/${file}: ${lines} lines`);
    assert.deepEqual(tooLong, [], `split these into modules with one job each (at most ${MAX_LINES} lines)`);
  });

  it('names only data files that exist, each with why it is data', () => {
    for (const [file, why] of Object.entries(DATA_FILES)) {
      assert.ok(sizes.has(file), `src/${file} is allowed above ${MAX_LINES} lines but does not exist`);
      assert.ok(why.length > 20, `src/${file}: say why it is data`);
    }
  });
});
