/**
 * Writing the merged kubeconfig to disk — the one module of this folder that does I/O:
 * - under kubectl's own lock (`<file>.lock`, created exclusively; client-go uses the same), so a
 *   concurrent `kubectl config` or `kboot kubeconfig` cannot lose an update;
 * - atomically: a temp file in the same directory, fsync, rename, fsync of the directory;
 * - mode 0600 (an existing file with a looser mode is tightened even when nothing else changes:
 *   group and other access removed, the owner's kept, so a 0444 file becomes 0400),
 *   owner kept when running as root;
 * - the previous content kept in `<file>.kboot-backup` (one backup, replaced on each change,
 *   mode 0600 since it holds credentials too); no write and no backup when nothing changed;
 * - a symlinked kubeconfig is written through to its target; a symlink whose target does not
 *   exist is refused (replacing the link with a file would silently cut it);
 * - a read-only kubeconfig (no owner write bit, e.g. 0400) that needs a change is refused: its
 *   owner made it so on purpose, and a rename would replace it anyway.
 */

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import type { KubeconfigEntries } from './admin.js';
import { mergeKubeconfig } from './merge.js';

export const KUBECONFIG_MODE = 0o600;
export const BACKUP_SUFFIX = '.kboot-backup';
export const LOCK_SUFFIX = '.lock';
const LOCK_ATTEMPTS = 20;
const LOCK_RETRY_MS = 100;

export interface MergeIntoFileOptions {
  setCurrent: boolean;
  clock: Clock;
}

export interface MergeIntoFileOutcome {
  /** The file written (a symlink's target). */
  file: string;
  changed: boolean;
  created: boolean;
  /** Where the previous content went, when there was a change to an existing file. */
  backup: string | undefined;
  /** The mode was looser than 0600 and was tightened. */
  modeTightened: boolean;
  changes: string[];
  currentContext: string | undefined;
}

function fsError(error: unknown, doing: string): ConfigError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new ConfigError(`could not ${doing} (${code})`, {
    cause: error,
    hint: 'check the permissions of that file and its directory, or choose another file with --file PATH',
  });
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, `read ${file}`);
  }
}

/** The symlink's target as written in the link, when `file` is a symlink. */
async function linkTarget(file: string): Promise<string | undefined> {
  try {
    if (!(await lstat(file)).isSymbolicLink()) return undefined;
    return await readlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, `read ${file}`);
  }
}

/**
 * The file a write really lands on: a symlink's target, or the path itself when it does not exist
 * yet. A symlink whose target is missing is refused, naming both.
 */
async function writeTarget(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(error, `resolve ${file}`);
    const link = await linkTarget(file);
    if (link !== undefined) {
      throw new ConfigError(`${file} is a symlink to ${link}, which does not exist`, {
        hint:
          `create the target (touch ${link} && chmod 600 ${link}) to write through the link, ` +
          `remove the link to write a new file there, or choose another file with --file PATH`,
        details: { file, target: link },
      });
    }
    return file;
  }
}

/** Refuses to rewrite a kubeconfig its owner made read-only. */
function assertWritable(file: string, before: Stats): void {
  if ((before.mode & 0o200) !== 0) return;
  const octal = (before.mode & 0o777).toString(8).padStart(4, '0');
  throw new ConfigError(
    `${file} is read-only (mode ${octal}); kboot does not rewrite a read-only kubeconfig`,
    {
      hint: `make it writable (chmod 600 ${file}) to merge into it, choose another file with --file PATH, or use --print`,
      details: { file, mode: octal },
    },
  );
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Not every filesystem can fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/** temp file in the same directory → fsync → rename over `file` → fsync the directory. */
export async function writeFileAtomically(
  file: string,
  data: string,
  mode: number,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(mode);
      if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw fsError(error, `write ${file}`);
  }
  await syncDirectory(dir);
}

/** Holds `<file>.lock` (kubectl's lock) while `work` runs; waits up to ~2 s for another holder. */
async function withLock<T>(file: string, clock: Clock, work: () => Promise<T>): Promise<T> {
  const lock = `${file}${LOCK_SUFFIX}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await (await open(lock, 'wx', KUBECONFIG_MODE)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw fsError(error, `create the lock file ${lock}`);
      if (attempt >= LOCK_ATTEMPTS) {
        throw new ConfigError(`${lock} exists: another kubectl or kboot is writing ${file}`, {
          hint: `try again in a moment; if no kubectl or kboot is running, remove ${lock}`,
        });
      }
      await clock.sleepMs(LOCK_RETRY_MS);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Merges kboot's entries into the kubeconfig at `file` (created when missing, with its directory). */
export async function mergeIntoKubeconfigFile(
  file: string,
  entries: KubeconfigEntries,
  options: MergeIntoFileOptions,
): Promise<MergeIntoFileOutcome> {
  const target = await writeTarget(file);
  const dir = path.dirname(target);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fsError(error, `create the directory ${dir}`);
  }
  return withLock(target, options.clock, async () => {
    const before = await statOrUndefined(target);
    let existing: string | undefined;
    if (before !== undefined) {
      try {
        existing = await readFile(target, 'utf8');
      } catch (error) {
        throw fsError(error, `read ${target}`);
      }
    }
    const merged = mergeKubeconfig(existing, entries, { setCurrent: options.setCurrent, source: target });
    const runningAsRoot = process.getuid?.() === 0;
    const owner =
      runningAsRoot && before !== undefined && before.uid !== 0
        ? { uid: before.uid, gid: before.gid }
        : undefined;
    const outcome: MergeIntoFileOutcome = {
      file: target,
      changed: merged.changed,
      created: before === undefined,
      backup: undefined,
      modeTightened: false,
      changes: merged.changes,
      currentContext: merged.currentContext,
    };
    if (merged.changed) {
      if (before !== undefined) assertWritable(target, before);
      if (existing !== undefined) {
        outcome.backup = `${target}${BACKUP_SUFFIX}`;
        await writeFileAtomically(outcome.backup, existing, KUBECONFIG_MODE, owner);
      }
      await writeFileAtomically(target, merged.text.reveal(), KUBECONFIG_MODE, owner);
      outcome.modeTightened = before !== undefined && (before.mode & 0o077) !== 0;
    } else if (before !== undefined && (before.mode & 0o077) !== 0) {
      // Group and other access go; the owner's read and write stay as they were (0444 → 0400).
      const ownerOnly = before.mode & 0o600;
      try {
        await chmod(target, ownerOnly);
      } catch (error) {
        throw fsError(error, `restrict the mode of ${target} to 0${ownerOnly.toString(8)}`);
      }
      outcome.modeTightened = true;
    }
    return outcome;
  });
}
