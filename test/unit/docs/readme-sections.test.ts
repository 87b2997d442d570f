/**
 * Error hints and comments in src/, packer/ and examples/ name README sections (`README "Node
 * config"`) from before the README was split into docs/. README.md's table "Sections named in
 * kboot's messages" sends each name to its page: every name in use has a row, and every row is a
 * name still in use, so the table neither misses a hint nor keeps a dead one.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { section } from '../../support/markdown.js';
import { repoRoot } from '../../support/paths.js';

const root = repoRoot();
const SCANNED = ['src', 'packer', 'examples'];
const TEXT_FILE = /\.(ts|mjs|js|hcl|sh|service|timer|yaml|yml|md)$/;

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return files(full);
      return TEXT_FILE.test(name) ? [full] : [];
    });
}

/** The section names the code and the AMI files cite: `README "X"` or `README: "X"`, on one line. */
function citedSections(): Map<string, string> {
  const cited = new Map<string, string>();
  for (const file of SCANNED.flatMap((dir) => files(path.join(root, dir)))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/README:? \\?"([^"\\\n]+)\\?"/g)) {
      const name = match[1] ?? '';
      if (!cited.has(name)) cited.set(name, path.relative(root, file));
    }
  }
  return cited;
}

/** The names in README.md's table: rows `| \`README "X"\` | [..](..) |`. */
function listedSections(): string[] {
  const text = section(
    readFileSync(path.join(root, 'README.md'), 'utf8'),
    "Sections named in kboot's messages",
  );
  assert.ok(text !== undefined, 'README.md has the section "Sections named in kboot\'s messages"');
  return [...text.matchAll(/^\| `README "([^"]+)"` \| \[[^\]]+\]\([^)]+\) \|$/gm)].map((m) => m[1] ?? '');
}

describe("README's table of section names", () => {
  it('has a row for every section name a message or comment cites', () => {
    const listed = new Set(listedSections());
    const missing = [...citedSections()]
      .filter(([name]) => !listed.has(name))
      .map(([name, file]) => `${name} (${file})`);
    assert.deepEqual(missing, []);
  });

  it('has no row for a name nothing cites any more', () => {
    const cited = citedSections();
    assert.deepEqual(
      listedSections().filter((name) => !cited.has(name)),
      [],
    );
  });
});
