// One build at a time per work tree: two `npm test` runs started together would otherwise inject
// into the same scratch binary. The lock is a file holding the owner's pid; a lock whose owner
// is gone is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/**
 * @param {string} file
 * @param {{ timeoutMs?: number, pollMs?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<() => void>} release
 */
export async function acquireBuildLock(file, { timeoutMs = 10 * 60_000, pollMs = 250, log = () => {} } = {}) {
  mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
    }
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // released between our open and read
    }
    const owner = Number(text);
    if (text !== '' && (!Number.isInteger(owner) || owner <= 0 || !alive(owner))) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another build (pid ${text}) still holds ${file} after ${Math.round(timeoutMs / 1000)} s`,
      );
    }
    if (!told) {
      log(`waiting for another build (pid ${text}) to finish`);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
