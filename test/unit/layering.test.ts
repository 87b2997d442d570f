/**
 * The layers of src/ and what each may import (docs/architecture.md): core imports no other
 * layer; the domain imports core and itself, and declares the ports it needs (src/domain/ports/
 * and beside their owners); adapters implement them; only the CLI wires adapters to the domain.
 * And no module imports itself back through others: no import cycle under src/.
 * Reads every import of every file under src/ (static, type-only, re-exports and `import()`).
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/paths.js';

const src = path.join(repoRoot(), 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

interface Import {
  /** The imported file, relative to src/ (`domain/ports/imds.ts`), or the package name. */
  target: string;
  /** Loaded when the importer loads (not `import()`). */
  static: boolean;
}

const SPECIFIER =
  /(?:^|[\s;}])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  // Comments may quote import lines; they import nothing.
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const resolve = (specifier: string): string =>
    specifier.startsWith('.')
      ? path.relative(src, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts')
      : specifier;
  return [
    ...[...text.matchAll(SPECIFIER)].map((m) => ({ target: resolve(m[1] ?? m[2] ?? ''), static: true })),
    ...[...text.matchAll(DYNAMIC)].map((m) => ({ target: resolve(m[1] ?? ''), static: false })),
  ];
}

const files = sourceFiles(src).map((file) => path.relative(src, file));
const graph = new Map(files.map((file) => [file, importsOf(path.join(src, file))]));
const layerOf = (file: string): string => file.split(path.sep)[0] ?? '';

/** Which layers each layer must not import. */
const FORBIDDEN: Record<string, readonly string[]> = {
  core: ['domain', 'adapters', 'cli'],
  domain: ['adapters', 'cli'],
  adapters: ['cli'],
};

describe('layering of src/', () => {
  it('reads the imports it checks', () => {
    // A parser that found nothing would pass every rule below.
    assert.ok(files.length > 100, `${files.length} files under src/`);
    const watch = graph.get(path.join('domain', 'leave', 'watch.ts')) ?? [];
    assert.ok(watch.some((i) => i.target === path.join('domain', 'ports', 'imds-readers.ts')));
    const flowDeps = graph.get(path.join('cli', 'flow-deps.ts')) ?? [];
    assert.ok(flowDeps.some((i) => i.target.startsWith(`adapters${path.sep}`)));
  });

  for (const [layer, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${layer}/ imports nothing from ${forbidden.join(', ')}`, () => {
      const found = [...graph]
        .filter(([file]) => layerOf(file) === layer)
        .flatMap(([file, imports]) =>
          imports
            .filter((i) => !i.target.startsWith('..') && forbidden.includes(layerOf(i.target)))
            .map((i) => `src/${file} imports src/${i.target}`),
        );
      assert.deepEqual(found, []);
    });
  }

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const { target, static: isStatic } of graph.get(file) ?? []) {
        if (!isStatic || !graph.has(target)) continue;
        if (state.get(target) === 'open') {
          cycles.push([...stack.slice(stack.indexOf(target)), target].join(' -> '));
        } else if (state.get(target) === undefined) visit(target);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    assert.deepEqual(cycles, []);
  });
});
