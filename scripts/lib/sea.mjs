// One single executable for one arch (Node SEA):
//   1. with a code cache: the training join's V8 code cache for the bundle (code-cache.mjs) and a
//      SEA config whose main is the small loader and whose assets are the bundle and that cache;
//      without one: a SEA config whose main is the bundle itself;
//   2. the blob, made by THAT arch's base binary (`--experimental-sea-config`): the code caches
//      are V8-version- and arch-specific, so a foreign arch runs under qemu;
//   3. a copy of the base binary with the blob injected by postject (NODE_SEA_BLOB + the fuse);
//   4. copied into dist/ with copy_file_range and renamed into place (see installBinary).
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BUNDLE_ASSET, CACHE_ASSET, loaderSource, trainCodeCache } from './code-cache.mjs';
import { commandFor } from './emulation.mjs';
import { cleanNodeEnv, runChecked } from './proc.mjs';

export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

const require = createRequire(import.meta.url);

/**
 * @param {{ arch: string, baseBinary: string, main: string, workDir: string, output: string,
 *   useCodeCache: boolean, runner: import('./emulation.mjs').Runner, blobMaker?: string }} options
 *   blobMaker: the binary that makes the blob when the arch's own cannot run here (only
 *   without a code cache; it must be the same Node version).
 *   version: what the loader answers to a bare --version.
 * @returns {Promise<{ blobBytes: number, blobMs: number, injectMs: number,
 *   training?: { bytes: number, joined: boolean, ms: number, output: string } | { failed: string } }>}
 *   training.failed: the training run wrote no cache; the binary was made without the loader.
 */
export async function buildSea(options) {
  const { workDir } = options;
  mkdirSync(workDir, { recursive: true });
  const blob = path.join(workDir, 'sea-prep.blob');
  const configFile = path.join(workDir, 'sea-config.json');
  const config = {
    main: options.main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: options.useCodeCache,
    useSnapshot: false,
  };
  let training;
  if (options.useCodeCache) {
    const loader = path.join(workDir, 'loader.cjs');
    const cacheFile = path.join(workDir, CACHE_ASSET);
    writeFileSync(loader, loaderSource({ version: options.version }));
    try {
      training = await trainCodeCache({
        runner: options.runner,
        nodeBinary: options.baseBinary,
        loader,
        bundle: options.main,
        cacheFile,
      });
      config.main = loader;
      config.assets = { [BUNDLE_ASSET]: options.main, [CACHE_ASSET]: cacheFile };
    } catch (error) {
      // No training cache: the binary still works, its main the bundle with the SEA's own cache.
      training = { failed: error instanceof Error ? error.message : String(error) };
    }
  }
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const maker = options.blobMaker ?? options.baseBinary;
  const runner = options.blobMaker === undefined ? options.runner : { prefix: [] };
  const { command, args } = commandFor(runner, maker, ['--experimental-sea-config', configFile]);
  const blobRun = await runChecked(command, args, { cwd: workDir, env: cleanNodeEnv() });

  // Inject into a scratch copy of the base binary; postject rewrites the whole file.
  const injected = path.join(workDir, 'kboot');
  rmSync(injected, { force: true });
  copyFileSync(options.baseBinary, injected);
  chmodSync(injected, 0o755);
  const postject = path.join(path.dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  const injectRun = await runChecked(
    process.execPath,
    [postject, injected, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE],
    { cwd: workDir },
  );
  installBinary(injected, options.output);
  rmSync(injected, { force: true });
  return {
    blobBytes: statSync(blob).size,
    blobMs: blobRun.elapsedMs,
    injectMs: injectRun.elapsedMs,
    training,
  };
}

/**
 * Puts a binary at `target` atomically (a running copy is never overwritten in place), mode 0755.
 * The copy goes through copyFileSync (copy_file_range), not one big write: a 150 MB file written
 * by a single write() lands in the page cache as large folios, and every later run then maps
 * whole folios — measured here, +20 to +35 MB of peak RSS for the same binary.
 */
export function installBinary(source, target) {
  mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  copyFileSync(source, temp);
  chmodSync(temp, 0o755);
  renameSync(temp, target);
}
