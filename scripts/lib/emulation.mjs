// How to run a Linux binary of a given arch on this machine: natively for the host's arch, under
// qemu user-mode emulation for the other (Debian: qemu-user plus the target's cross libc,
// libstdc++, libgcc and libatomic, which Node's arm64 binary links against).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const FOREIGN = {
  arm64: {
    qemu: 'qemu-aarch64',
    sysroot: '/usr/aarch64-linux-gnu',
    libs: ['lib/libc.so.6', 'lib/libstdc++.so.6', 'lib/libgcc_s.so.1', 'lib/libatomic.so.1'],
    packages:
      'qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libatomic1-arm64-cross',
  },
  x64: {
    qemu: 'qemu-x86_64',
    sysroot: '/usr/x86_64-linux-gnu',
    libs: ['lib/libc.so.6', 'lib/libstdc++.so.6', 'lib/libgcc_s.so.1'],
    packages: 'qemu-user libc6-amd64-cross libstdc++6-amd64-cross libgcc-s1-amd64-cross',
  },
};

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && existsSync(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

/**
 * @typedef {{ arch: string, native: boolean, available: boolean, prefix: string[],
 *   describe: string, missing?: string }} Runner
 */

/**
 * @param {string} arch 'x64' | 'arm64'
 * @param {string} [hostArch]
 * @returns {Runner}
 */
export function runnerFor(arch, hostArch = process.arch) {
  if (arch === hostArch) return { arch, native: true, available: true, prefix: [], describe: 'native' };
  const foreign = FOREIGN[arch];
  if (foreign === undefined) {
    return {
      arch,
      native: false,
      available: false,
      prefix: [],
      describe: 'none',
      missing: `no emulator known for ${arch}`,
    };
  }
  const qemu = onPath(foreign.qemu);
  const missingLibs = foreign.libs.filter((lib) => !existsSync(path.join(foreign.sysroot, lib)));
  if (qemu === undefined || missingLibs.length > 0) {
    const what =
      qemu === undefined
        ? foreign.qemu
        : missingLibs.map((lib) => path.join(foreign.sysroot, lib)).join(', ');
    return {
      arch,
      native: false,
      available: false,
      prefix: [],
      describe: 'none',
      missing: `${what} not found (Debian: apt-get install ${foreign.packages})`,
    };
  }
  return {
    arch,
    native: false,
    available: true,
    prefix: [qemu, '-L', foreign.sysroot],
    describe: foreign.qemu,
  };
}

/** The command line that runs `binary args...` for `runner`. */
export function commandFor(runner, binary, args) {
  const [command, ...prefixArgs] = [...runner.prefix, binary, ...args];
  return { command: /** @type {string} */ (command), args: prefixArgs };
}

/** Quick check that a binary starts at all under the runner (e.g. `node --version`). */
export function canRun(runner, binary, args = ['--version']) {
  const { command, args: fullArgs } = commandFor(runner, binary, args);
  const result = spawnSync(command, fullArgs, { encoding: 'utf8', timeout: 60_000 });
  return result.status === 0
    ? { ok: true }
    : { ok: false, output: `${result.stderr ?? ''}${result.error ?? ''}`.trim() };
}

/** How to allow a build whose binary for another arch could not be run. */
export const ALLOW_UNTESTED_FLAG = '--allow-untested-arch';
export const ALLOW_UNTESTED_ENV = 'KBOOT_ALLOW_UNTESTED_ARCH';

/**
 * A binary nobody ran must not ship by accident: the runners that cannot run their arch's
 * binary (no emulator) are an error, unless untested binaries are explicitly allowed; then they
 * are returned, for a warning.
 * @param {Runner[]} runners
 * @param {{ allowUntested: boolean }} options
 * @returns {Runner[]}
 */
export function assertSmokeTestable(runners, { allowUntested }) {
  const missing = runners.filter((runner) => !runner.available);
  if (missing.length === 0 || allowUntested) return missing;
  throw new Error(
    `cannot smoke-test the ${missing.map((r) => r.arch).join(' and ')} binary: ` +
      `${missing.map((r) => r.missing).join('; ')}. Install the emulator (.ci/run does), or build with ` +
      `${ALLOW_UNTESTED_FLAG} (or ${ALLOW_UNTESTED_ENV}=1) to accept a binary that was never run`,
  );
}
