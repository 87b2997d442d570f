/**
 * docs/development.md "Source layout" names every directory under src/, and nothing that does not
 * exist: it reads the real tree, so a directory added, moved or removed without its row fails here.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { section } from '../../support/markdown.js';
import { repoRoot } from '../../support/paths.js';

const root = repoRoot();
const PAGE = 'docs/development.md';

/** Every directory under src/ (src itself excluded), as `src/a/b/`. */
function sourceDirectories(dir = 'src'): string[] {
  return readdirSync(path.join(root, dir))
    .filter((name) => statSync(path.join(root, dir, name)).isDirectory())
    .sort()
    .flatMap((name) => [`${dir}/${name}/`, ...sourceDirectories(`${dir}/${name}`)]);
}

/** The paths in the first column of the section's table: `| \`src/cli/\` | … |`. */
function namedPaths(): string[] {
  const text = section(readFileSync(path.join(root, PAGE), 'utf8'), 'Source layout');
  assert.ok(text !== undefined, `${PAGE} has a "Source layout" section`);
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] ?? '');
}

describe('source layout', () => {
  it('names every directory under src/', () => {
    const named = new Set(namedPaths());
    const missing = sourceDirectories().filter((dir) => !named.has(dir));
    assert.deepEqual(missing, [], `add a row for each to "Source layout" in ${PAGE}`);
  });

  it('names nothing that does not exist', () => {
    const gone = namedPaths().filter((named) => {
      const full = path.join(root, named);
      if (!existsSync(full)) return true;
      return named.endsWith('/') !== statSync(full).isDirectory();
    });
    assert.deepEqual(gone, [], `remove or correct these rows of "Source layout" in ${PAGE}`);
  });

  it('names each path once', () => {
    const named = namedPaths();
    assert.deepEqual(
      named.filter((p, i) => named.indexOf(p) !== i),
      [],
    );
  });
});
