/**
 * The single executables in dist/ (npm run build): each starts on its own, with no node_modules
 * and no source tree beside it, and reports the facts the build stamped into it.
 */

import assert from 'node:assert/strict';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runKboot } from '../support/cli.js';
import { kbootBinary, repoRoot, tempDir } from '../support/paths.js';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const VERSION_PATTERN = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

function distBinary(arch: string): string {
  return path.join(repoRoot(), 'dist', `kboot-linux-${arch}`);
}

/** The version the last build stamped (build/sea-state.json), if that file is there. */
function builtVersion(): string | undefined {
  try {
    const state = JSON.parse(readFileSync(path.join(repoRoot(), 'build', 'sea-state.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof state.version === 'string' ? state.version : undefined;
  } catch {
    return undefined;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && existsSync(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

/** Why the arm64 binary cannot run here, or undefined when qemu can run it. */
function arm64SkipReason(): string | undefined {
  if (process.arch === 'arm64') return undefined;
  if (onPath('qemu-aarch64') === undefined) return 'qemu-aarch64 is not installed (Debian: qemu-user)';
  for (const lib of ['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libatomic.so.1']) {
    if (!existsSync(path.join(ARM64_SYSROOT, 'lib', lib))) return `${ARM64_SYSROOT}/lib/${lib} is missing`;
  }
  return undefined;
}

/** Runs the arm64 binary natively on arm64, under qemu elsewhere. */
function runArm64(args: readonly string[], env: Record<string, string> = {}) {
  if (process.arch === 'arm64')
    return runKboot(args, { binary: distBinary('arm64'), env, timeoutMs: 120_000 });
  return runKboot(['-L', ARM64_SYSROOT, distBinary('arm64'), ...args], {
    binary: 'qemu-aarch64',
    env,
    timeoutMs: 120_000,
  });
}

function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  assert.equal(header.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is not an ELF file`);
  return header.readUInt16LE(18);
}

describe('single executable', () => {
  let isolatedDir: string;
  let isolatedBinary: string;
  /** The run environment with nothing that could point at the source tree or node_modules. */
  const bareEnv = { NODE_PATH: undefined, NODE_OPTIONS: undefined, KBOOT_REPO_ROOT: undefined };

  before(() => {
    assert.ok(existsSync(kbootBinary()), `${kbootBinary()} is missing: run 'npm run build' first`);
    isolatedDir = tempDir('kboot-binary-');
    isolatedBinary = path.join(isolatedDir, 'kboot');
    copyFileSync(kbootBinary(), isolatedBinary);
  });

  after(() => {
    rmSync(isolatedDir, { recursive: true, force: true });
  });

  it('prints its version from an empty directory, alone', async () => {
    const result = await runKboot(['--version'], { binary: isolatedBinary, cwd: isolatedDir, env: bareEnv });
    assert.equal(result.exitCode, 0, result.stderr);
    const printed = result.stdout.trim();
    assert.match(printed, VERSION_PATTERN);
    const expected = builtVersion();
    if (expected !== undefined) assert.equal(printed, expected);
    assert.equal(result.stderr, '');
  });

  it('reports version, commit, Node.js, build date and arch as JSON', async () => {
    const result = await runKboot(['version', '--output', 'json'], {
      binary: isolatedBinary,
      cwd: isolatedDir,
      env: bareEnv,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    const facts = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(facts).sort(), ['arch', 'buildDate', 'commit', 'node', 'version']);
    assert.match(String(facts.version), VERSION_PATTERN);
    assert.match(String(facts.commit), /^([0-9a-f]{40}|unknown)$/);
    assert.match(String(facts.node), /^v26\.\d+\.\d+$/);
    assert.match(String(facts.buildDate), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(facts.arch, process.arch);
  });

  it('is a Node single executable, not a node that runs a script', async () => {
    const binary = readFileSync(kbootBinary());
    assert.ok(binary.includes(`${SEA_FUSE}:1`), 'the SEA fuse is not flipped: no blob was injected');
    // A plain node would evaluate this; the single executable runs kboot, which rejects it.
    const result = await runKboot(['-e', 'process.stdout.write("node")'], {
      binary: isolatedBinary,
      cwd: isolatedDir,
      env: bareEnv,
    });
    assert.notEqual(result.stdout, 'node');
    assert.notEqual(result.exitCode, 0);
  });

  it('builds one binary per arch, for the right machine', () => {
    for (const [arch, machine] of Object.entries(ELF_MACHINE)) {
      assert.equal(
        elfMachine(distBinary(arch)),
        machine,
        `dist/kboot-linux-${arch} has the wrong ELF machine`,
      );
    }
    assert.equal(elfMachine(kbootBinary()), ELF_MACHINE[process.arch]);
  });

  it('compiles its bundle with the code cache of the training join made by the build', async () => {
    // KBOOT_DEBUG_CODE_CACHE also makes --version go through the bundle, not the loader's answer.
    const result = await runKboot(['--version'], {
      binary: isolatedBinary,
      cwd: isolatedDir,
      env: { ...bareEnv, KBOOT_DEBUG_CODE_CACHE: '1' },
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, 'kboot: code cache accepted\n');
    const plain = await runKboot(['--version'], { binary: isolatedBinary, cwd: isolatedDir, env: bareEnv });
    assert.equal(result.stdout, plain.stdout);
  });

  it('loads a module it imports on demand (node:https for an https IMDS endpoint)', {
    timeout: 60_000,
  }, async () => {
    // The bundle runs under vm.Script, where a real import() fails without an experimental flag.
    const result = await runKboot(['identity'], {
      binary: isolatedBinary,
      cwd: isolatedDir,
      env: { ...bareEnv, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'https://127.0.0.1:9' },
      timeoutMs: 60_000,
    });
    assert.equal(result.exitCode, 3, result.stderr);
    assert.match(result.stderr, /connection failed \(ECONNREFUSED\)/);
    assert.doesNotMatch(result.stderr, /Warning|DYNAMIC_IMPORT/);
  });

  const arm64Skip = arm64SkipReason();

  it('the arm64 binary prints its version', { skip: arm64Skip ?? false, timeout: 180_000 }, async () => {
    const host = await runKboot(['--version'], { binary: isolatedBinary, env: bareEnv });
    const result = await runArm64(['--version']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.trim(), host.stdout.trim());
  });

  it('the arm64 binary takes its code cache', { skip: arm64Skip ?? false, timeout: 180_000 }, async () => {
    const result = await runArm64(['--version'], { KBOOT_DEBUG_CODE_CACHE: '1' });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, 'kboot: code cache accepted\n');
  });

  it('the arm64 binary says it is arm64', { skip: arm64Skip ?? false, timeout: 180_000 }, async () => {
    const result = await runArm64(['version', '--output', 'json']);
    assert.equal(result.exitCode, 0, result.stderr);
    const facts = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(facts.arch, 'arm64');
    assert.match(String(facts.node), /^v26\./);
  });
});
