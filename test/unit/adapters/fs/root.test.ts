/**
 * FsRoot.writePrivateFile: a secret file is 0600 from the start and written atomically, and a
 * failed write leaves nothing behind — no target, no temp file holding part of the secret.
 */

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { tempDir } from '../../../support/paths.js';

const SECRET = 'token: abcdef.0123456789abcdef\n';

describe('FsRoot.writePrivateFile', () => {
  it('writes the file 0600 and leaves no temp file', async () => {
    const fs = new FsRoot(tempDir('fs-root-'));
    const written = await fs.writePrivateFile('/var/lib/kboot/kubeadm/join.yaml', SECRET);
    assert.equal(statSync(written).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(path.dirname(written)), ['join.yaml']);
    assert.equal(await fs.readText('/var/lib/kboot/kubeadm/join.yaml'), SECRET);
  });

  it('removes its temp file when the rename fails', async () => {
    const fs = new FsRoot(tempDir('fs-root-'));
    // A non-empty directory where the file should go: the rename onto it fails.
    const target = fs.resolve('/var/lib/kboot/kubeadm/init.yaml');
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'keep'), '');
    await assert.rejects(fs.writePrivateFile('/var/lib/kboot/kubeadm/init.yaml', SECRET));
    assert.deepEqual(readdirSync(path.dirname(target)), ['init.yaml']);
  });

  it('removes its temp file when the write itself fails', async () => {
    const fs = new FsRoot(tempDir('fs-root-'));
    // Content the file handle refuses: the temp file exists by then, and must not stay.
    await assert.rejects(
      fs.writePrivateFile('/var/lib/kboot/kubeadm/init.yaml', Symbol('not text') as unknown as string),
    );
    assert.deepEqual(readdirSync(fs.resolve('/var/lib/kboot/kubeadm')), []);
  });
});
