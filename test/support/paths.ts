import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function repoRoot(): string {
  return process.env.KBOOT_REPO_ROOT ?? path.resolve(import.meta.dirname, '..', '..');
}

/** The built binary for this machine (npm run build). */
export function kbootBinary(): string {
  return process.env.KBOOT_BINARY ?? path.join(repoRoot(), 'dist', 'kboot');
}

export function tempDir(prefix = 'kboot-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
