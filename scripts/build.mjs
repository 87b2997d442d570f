#!/usr/bin/env node
// Builds kboot as a Node single executable for Linux x64 and arm64.
//   node scripts/build.mjs           build what changed (npm run build)
//   node scripts/build.mjs --force   rebuild both binaries even if nothing changed
//   node scripts/build.mjs --allow-untested-arch
//                                    build even when a binary cannot be run here (no qemu for
//                                    arm64): without it such a build fails (KBOOT_ALLOW_UNTESTED_ARCH=1
//                                    does the same)
//
//   build/kboot.cjs             the bundle (host arch stamped; runs with any Node >= 20 too)
//   build/bundle-report.json    what loads at startup and what only on `import()`
//   build/meta.json             esbuild's metafile (https://esbuild.github.io/analyze/)
//   dist/kboot-linux-x64        the single executables
//   dist/kboot-linux-arm64
//   dist/kboot                  the host arch's one (a hard link)
//
// Both Node base binaries are checked against their pinned SHA-256 (scripts/node-base-sha256.json)
// at every build. Every binary is smoke-tested (run, natively or under qemu) before the build
// succeeds; a cached binary that was never tested is tested now.
//
// A binary is rebuilt only when its bundle or its Node base binary changed since the last build
// (recorded in build/sea-state.json), so `npm test` costs little when nothing changed.
//
// Each binary's V8 code cache comes from a training worker join run by that arch's Node
// (scripts/lib/code-cache.mjs): a join then compiles almost nothing.
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { acquireBuildLock } from './lib/build-lock.mjs';
import { bundleKboot, heavyEagerPackages, stampBundle, startupReport } from './lib/bundle.mjs';
import { DEBUG_ENV } from './lib/code-cache.mjs';
import {
  ALLOW_UNTESTED_ENV,
  ALLOW_UNTESTED_FLAG,
  assertSmokeTestable,
  commandFor,
  runnerFor,
} from './lib/emulation.mjs';
import { buildDateFrom, gitFacts } from './lib/git-info.mjs';
import { BASE_ARCHES, ensureNodeBases } from './lib/node-base.mjs';
import { cleanNodeEnv, runProcess } from './lib/proc.mjs';
import { buildSea, installBinary } from './lib/sea.mjs';

/** Bump when the way a binary is made changes, so cached binaries are rebuilt. */
const RECIPE = 2;

const root = path.resolve(import.meta.dirname, '..');
const buildDir = path.join(root, 'build');
const distDir = path.join(root, 'dist');
const stateFile = path.join(buildDir, 'sea-state.json');
const force = process.argv.includes('--force');
const allowUntested =
  process.argv.includes(ALLOW_UNTESTED_FLAG) || /^(1|true|yes)$/i.test(process.env[ALLOW_UNTESTED_ENV] ?? '');

const say = (line) => console.log(line);
const warn = (line) => console.error(`build: WARNING: ${line}`);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const kb = (bytes) => `${Math.round(bytes / 1024)} KB`;
const secs = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

function readState() {
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    return state.recipe === RECIPE ? state : { arches: {} };
  } catch {
    return { arches: {} };
  }
}

/** Writes a file only when its content changed (keeps mtimes meaningful). */
function writeIfChanged(file, content) {
  mkdirSync(path.dirname(file), { recursive: true });
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return;
  writeFileSync(file, content);
}

function outputUnchanged(record, output) {
  if (record === undefined || !existsSync(output)) return false;
  const stat = statSync(output);
  return stat.size === record.size && stat.mtimeMs === record.mtimeMs;
}

/**
 * `--version` as the loader answers it, then through the bundle (with the code-cache report on):
 * both print the version, and V8 must take the training join's code cache.
 */
async function smokeTest(arch, runner, binary, expectedVersion, useCodeCache) {
  if (!runner.available) {
    // Only reached when untested binaries are allowed (assertSmokeTestable in main).
    warn(`NOT smoke-testing ${arch} (${ALLOW_UNTESTED_FLAG}): ${runner.missing}; this binary was never run`);
    return { line: `${arch} SKIPPED (never run)`, tested: false };
  }
  const { command, args } = commandFor(runner, binary, ['--version']);
  const runs = [{}, ...(useCodeCache ? [{ [DEBUG_ENV]: '1' }] : [])];
  let elapsedMs = 0;
  for (const extra of runs) {
    const result = await runProcess(command, args, { env: cleanNodeEnv(extra), timeoutMs: 120_000 });
    const printed = result.stdout.trim();
    const how = `${path.relative(root, binary)} --version (${runner.describe}${DEBUG_ENV in extra ? `, ${DEBUG_ENV}=1` : ''})`;
    if (result.code !== 0 || printed !== expectedVersion) {
      throw new Error(
        `smoke test failed: ${how} exited ${result.code} printing "${printed}", expected "${expectedVersion}"\n${result.stderr.trim()}`,
      );
    }
    if (DEBUG_ENV in extra && !result.stderr.includes('kboot: code cache accepted')) {
      throw new Error(`smoke test failed: ${how}: V8 did not take the code cache\n${result.stderr.trim()}`);
    }
    elapsedMs += DEBUG_ENV in extra ? 0 : result.elapsedMs;
  }
  return {
    line: `${arch} ok (${runner.native ? '' : `${runner.describe}, `}${secs(elapsedMs)}${useCodeCache ? ', code cache taken' : ''})`,
    tested: true,
  };
}

async function buildArch({ arch, base, stamped, bundleKey, state, hostBase, version }) {
  const runner = runnerFor(arch);
  const useCodeCache = runner.available;
  const output = path.join(distDir, `kboot-linux-${arch}`);
  const key = JSON.stringify({
    RECIPE,
    bundleKey,
    base: `${base.packageName}@${base.version}`,
    useCodeCache,
  });
  const record = state.arches[arch];
  if (!force && record?.key === key && outputUnchanged(record, output)) {
    return { arch, output, runner, useCodeCache, built: false, record };
  }
  if (!useCodeCache) {
    warn(
      `${arch}: cannot run the ${arch} Node binary here (${runner.missing}); building it WITHOUT a code cache ` +
        '(it starts several times slower)',
    );
  }
  const workDir = path.join(buildDir, 'sea', arch);
  const main = path.join(workDir, 'kboot.cjs');
  writeIfChanged(main, stamped);
  const startedAt = performance.now();
  const timings = await buildSea({
    arch,
    baseBinary: base.binary,
    main,
    workDir,
    output,
    useCodeCache,
    runner,
    blobMaker: useCodeCache ? undefined : hostBase.binary,
    version,
  });
  const stat = statSync(output);
  const trained = timings.training === undefined || !('failed' in timings.training);
  // A binary whose training failed is not recorded under this key: the next build tries again.
  const newRecord = {
    key: trained ? key : 'untrained',
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    blobBytes: timings.blobBytes,
  };
  return {
    arch,
    output,
    runner,
    useCodeCache: useCodeCache && trained,
    built: true,
    record: newRecord,
    timings,
    ms: performance.now() - startedAt,
  };
}

function linkHostBinary() {
  const host = process.arch;
  const source = path.join(distDir, `kboot-linux-${host}`);
  const target = path.join(distDir, 'kboot');
  if (!existsSync(source)) {
    warn(`no binary for this machine's arch (${host}); dist/kboot not made`);
    return undefined;
  }
  // rename() of one hard link over another of the same file does nothing, so check first.
  if (existsSync(target) && statSync(target).ino === statSync(source).ino) return path.basename(source);
  const temp = `${target}.tmp-${process.pid}`;
  rmSync(temp, { force: true });
  try {
    linkSync(source, temp);
    renameSync(temp, target);
  } catch {
    installBinary(source, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return path.basename(source);
}

/** Half-written binaries left by a build that was killed. */
function removeStaleTemps() {
  if (!existsSync(distDir)) return;
  for (const name of readdirSync(distDir)) {
    if (/\.tmp-\d+$/.test(name)) rmSync(path.join(distDir, name), { force: true });
  }
}

async function main() {
  const startedAt = performance.now();
  removeStaleTemps();
  // Before any work: a binary that cannot be run here fails the build unless allowed.
  for (const runner of assertSmokeTestable(
    BASE_ARCHES.map((arch) => runnerFor(arch)),
    { allowUntested },
  )) {
    warn(
      `${runner.arch}: ${runner.missing}; building it anyway (${ALLOW_UNTESTED_FLAG}), it will not be run`,
    );
  }
  const bases = await ensureNodeBases({ root, log: (line) => say(`node-base: ${line}`) });
  say(`  node base binaries: SHA-256 as pinned in scripts/node-base-sha256.json (${BASE_ARCHES.join(', ')})`);
  const facts = gitFacts(root);
  const state = readState();

  const bundleStart = performance.now();
  const bundle = await bundleKboot({ root, facts });
  for (const warning of bundle.warnings) warn(`esbuild: ${warning}`);
  // The date of a build whose code did not change stays the same, so its binaries stay cached.
  const buildDate = buildDateFrom(process.env, () =>
    state.bundleHash === bundle.hash && typeof state.buildDate === 'string'
      ? state.buildDate
      : new Date().toISOString(),
  );
  const stampedFor = (arch) => stampBundle(bundle.text, { buildDate, targetArch: arch });
  const hostArch = BASE_ARCHES.includes(process.arch) ? process.arch : 'x64';
  writeIfChanged(path.join(buildDir, 'kboot.cjs'), stampedFor(hostArch));
  writeIfChanged(path.join(buildDir, 'meta.json'), JSON.stringify(bundle.metafile));
  const report = startupReport(bundle.metafile, 'src/main.ts');
  writeIfChanged(path.join(buildDir, 'bundle-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const bundleMs = performance.now() - bundleStart;
  const heavy = heavyEagerPackages(report);
  if (heavy.length > 0) {
    warn(
      `these packages load at startup of every command (and every completion TAB): ${heavy.join(', ')}. ` +
        'Load them with `await import()` where they are used (see build/bundle-report.json).',
    );
  }

  say(`kboot ${facts.version} (commit ${facts.commit.slice(0, 12)}, built ${buildDate})`);
  say(
    `  bundle  build/kboot.cjs  ${mb(bundle.text.length)}: ${kb(report.eagerBytes)} load at startup, ` +
      `${kb(report.lazyBytes)} on import()  (${secs(bundleMs)})`,
  );

  const results = await Promise.all(
    BASE_ARCHES.map((arch) =>
      buildArch({
        arch,
        base: bases[arch],
        stamped: stampedFor(arch),
        bundleKey: bundle.hash + buildDate,
        state,
        hostBase: bases[hostArch],
        version: facts.version,
      }),
    ),
  );

  const smoke = [];
  for (const result of results) {
    const how = result.built
      ? `built in ${secs(result.ms)} (blob ${secs(result.timings.blobMs)}, inject ${secs(result.timings.injectMs)})`
      : 'unchanged, cached';
    say(
      `  ${result.arch.padEnd(6)}  ${path.relative(root, result.output).padEnd(22)}  ${mb(result.record.size)}  ` +
        `${result.useCodeCache ? `code cache, blob by ${result.runner.describe}` : result.runner.available ? `NO training cache, blob by ${result.runner.describe}` : 'NO code cache (blob by the host Node)'}  ${how}`,
    );
    const training = result.timings?.training;
    if (training !== undefined && 'failed' in training) {
      warn(
        `${result.arch}: the code-cache training join failed, so this binary has NO training cache ` +
          `(a join costs more CPU; the next build tries again): ${training.failed}`,
      );
    } else if (training !== undefined) {
      say(`          code cache from a training join: ${kb(training.bytes)} (${secs(training.ms)})`);
      if (!training.joined) {
        warn(
          `${result.arch}: the code-cache training join did not reach \`kubeadm join\`; the cache holds less ` +
            `(a join costs more CPU). Its last output:\n${training.output}`,
        );
      }
    }
    if (result.built || result.record.smokeTested !== true) {
      const outcome = await smokeTest(
        result.arch,
        result.runner,
        result.output,
        facts.version,
        result.useCodeCache,
      );
      result.record.smokeTested = outcome.tested;
      smoke.push(outcome.line);
    }
  }
  const linked = linkHostBinary();
  if (linked !== undefined) say(`  dist/kboot -> ${linked}`);
  if (smoke.length > 0) say(`  smoke test (--version): ${smoke.join(', ')}`);

  writeFileSync(
    stateFile,
    `${JSON.stringify(
      {
        recipe: RECIPE,
        bundleHash: bundle.hash,
        buildDate,
        version: facts.version,
        arches: Object.fromEntries(results.map((result) => [result.arch, result.record])),
      },
      null,
      2,
    )}\n`,
  );
  say(`  done in ${secs(performance.now() - startedAt)}`);
}

let release = () => {};
try {
  release = await acquireBuildLock(path.join(buildDir, '.build.lock'), { log: say });
  await main();
} catch (error) {
  console.error(`build: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  release();
}
