/**
 * Every path kboot touches is resolved under a filesystem root ("/" on an instance, a temp dir
 * in tests). Writes of anything secret go through `writePrivateFile`: created 0600 from the start
 * (never written first and tightened after), atomically (temp file + rename).
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InstanceFiles } from '../../domain/ports/files.js';

export class FsRoot implements InstanceFiles {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** An absolute in-root path for a path as written on an instance ("/etc/kboot/config.yaml"). */
  resolve(instancePath: string): string {
    const resolved = path.resolve(this.root, `.${path.posix.resolve('/', instancePath)}`);
    return resolved;
  }

  async readText(instancePath: string): Promise<string | undefined> {
    try {
      return await readFile(this.resolve(instancePath), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** File names in a directory, sorted; empty when it does not exist. */
  async list(instancePath: string): Promise<string[]> {
    try {
      return (await readdir(this.resolve(instancePath))).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async exists(instancePath: string): Promise<boolean> {
    try {
      await stat(this.resolve(instancePath));
      return true;
    } catch {
      return false;
    }
  }

  /** Writes a file readable by its owner only (0600), atomically; its directory is made 0700. */
  async writePrivateFile(instancePath: string, content: string): Promise<string> {
    const target = this.resolve(instancePath);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (error) {
      // The temp file holds (part of) the secret: it goes whichever step failed.
      await rm(temp, { force: true });
      throw error;
    }
    return target;
  }

  async remove(instancePath: string): Promise<void> {
    await rm(this.resolve(instancePath), { force: true, recursive: true });
  }
}
