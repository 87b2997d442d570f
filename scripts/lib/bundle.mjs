// Bundles src/main.ts into one CommonJS file for the single executable.
//
// - format cjs, platform node, target node26, minified;
// - `await import()` stays lazy: esbuild wraps a dynamically imported module in a lazy
//   initializer, so a command's handler and every AWS client run only when used;
// - `import()` of a node: builtin becomes a require() in a promise (nothing else is external);
// - top-level await cannot be expressed in CJS: esbuild rejects it, and the error says so;
// - `import.meta` (empty in CJS) is mapped to an object with working url/filename/dirname;
// - build facts reach src/core/build-info.ts through `define` (__KBOOT_BUILD_INFO__). The build
//   date and target arch are placeholders in the bundle, filled in per arch afterwards, so the
//   bundle's hash says whether the code changed, whatever the date.
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as esbuild from 'esbuild';

export const DATE_TOKEN = '@@KBOOT_BUILD_DATE@@';
export const ARCH_TOKEN = '@@KBOOT_TARGET_ARCH@@';

/**
 * @param {{ root: string, facts: { version: string, commit: string } }} options
 * @returns {Promise<{ text: string, hash: string, metafile: esbuild.Metafile, warnings: string[] }>}
 */
export async function bundleKboot({ root, facts }) {
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [path.join(root, 'src', 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node26',
      // No `import()` is left in the bundle: esbuild turns each into a require() in a promise
      // (node: builtins are all that stays external). The single executable compiles the bundle
      // with vm.Script (scripts/lib/code-cache.mjs), where a real import() would need
      // --experimental-vm-modules or the experimental main-context loader.
      supported: { 'dynamic-import': false },
      minify: true,
      // Error class names appear in stacks (--log-level debug) and in logged `err.type`.
      keepNames: true,
      legalComments: 'none',
      charset: 'ascii',
      write: false,
      outfile: path.join(root, 'build', 'kboot.cjs'),
      metafile: true,
      logLevel: 'silent',
      inject: [path.join(import.meta.dirname, 'import-meta-shim.mjs')],
      define: {
        'import.meta': '__kbootImportMeta',
        __KBOOT_BUILD_INFO__: JSON.stringify({
          version: facts.version,
          commit: facts.commit,
          buildDate: DATE_TOKEN,
          targetArch: ARCH_TOKEN,
        }),
      },
    });
  } catch (error) {
    const messages = /** @type {{ errors?: esbuild.Message[] }} */ (error).errors ?? [];
    const text = messages.map(formatMessage).join('\n');
    const hint = /top-level await/i.test(text)
      ? '\nkboot is bundled as CommonJS for the single executable, which has no top-level await: ' +
        'move the await into a function (commands load their handlers with `await import()` inside the action).'
      : '';
    throw new Error(`esbuild failed:\n${text || String(error)}${hint}`, { cause: error });
  }
  const output = result.outputFiles?.[0];
  if (output === undefined) throw new Error('esbuild produced no output');
  const text = output.text;
  for (const token of [DATE_TOKEN, ARCH_TOKEN]) {
    if (!text.includes(JSON.stringify(token))) {
      throw new Error(
        `the bundle does not contain the build-info placeholder ${token}: ` +
          'src/core/build-info.ts must read the global __KBOOT_BUILD_INFO__',
      );
    }
  }
  return {
    text,
    hash: createHash('sha256').update(text).digest('hex'),
    metafile: /** @type {esbuild.Metafile} */ (result.metafile),
    warnings: result.warnings.map(formatMessage),
  };
}

/** The bundle for one arch and build date (both are JSON string literals in the bundle). */
export function stampBundle(text, { buildDate, targetArch }) {
  return text
    .replaceAll(JSON.stringify(DATE_TOKEN), JSON.stringify(buildDate))
    .replaceAll(JSON.stringify(ARCH_TOKEN), JSON.stringify(targetArch));
}

function formatMessage(message) {
  const where =
    message.location === null || message.location === undefined
      ? ''
      : `${message.location.file}:${message.location.line}:${message.location.column}: `;
  return `${where}${message.text}`;
}

/** The npm package (or src/ folder) an input belongs to, for the report. */
export function packageOf(input) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (match?.[1] !== undefined) return match[1];
  const parts = input.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : input;
}

/**
 * Which modules run at startup (reachable from the entry through static imports and
 * require calls) and which only when an `import()` runs. What is eager is what every
 * `kboot --version` and every completion TAB pays for.
 * @param {esbuild.Metafile} metafile
 * @param {string} entry the entry's input path as esbuild names it (e.g. "src/main.ts")
 */
export function startupReport(metafile, entry) {
  const eager = new Set();
  const stack = [entry];
  while (stack.length > 0) {
    const input = /** @type {string} */ (stack.pop());
    if (eager.has(input)) continue;
    eager.add(input);
    for (const edge of metafile.inputs[input]?.imports ?? []) {
      if (edge.external || edge.kind === 'dynamic-import' || edge.kind === 'require-resolve') continue;
      stack.push(edge.path);
    }
  }
  const output = Object.values(metafile.outputs)[0];
  const byPackage = { eager: new Map(), lazy: new Map() };
  let eagerBytes = 0;
  let lazyBytes = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const side = eager.has(input) ? 'eager' : 'lazy';
    if (side === 'eager') eagerBytes += bytesInOutput;
    else lazyBytes += bytesInOutput;
    const name = packageOf(input);
    byPackage[side].set(name, (byPackage[side].get(name) ?? 0) + bytesInOutput);
  }
  const sorted = (map) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes }));
  return {
    eagerBytes,
    lazyBytes,
    eagerPackages: sorted(byPackage.eager),
    lazyPackages: sorted(byPackage.lazy),
  };
}

/** Packages that must never load at startup (the AWS SDK alone costs ~200 ms there). */
export function heavyEagerPackages(report) {
  return report.eagerPackages
    .map((entry) => entry.name)
    .filter((name) => /^@aws-sdk\/|^@smithy\/|^@aws-crypto\/|^execa$|^yaml$|^zod$/.test(name));
}
