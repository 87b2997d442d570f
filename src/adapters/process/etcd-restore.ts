/**
 * RestoreLocal (src/domain/flows/etcd-restore.ts) on this machine: the data directory checked,
 * the snapshot streamed to a 0600 file, and `etcdutl snapshot restore` (etcd 3.5+, where the
 * restore moved) or, without it on PATH, `etcdctl snapshot restore` (etcd 3.4, Debian's
 * etcd-client; deprecated but present in 3.5). Both check etcd's own hash trailer too.
 */

import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { IncompatibleError, StateConflictError } from '../../core/errors.js';
import type { RestoreLocal } from '../../domain/flows/etcd-restore.js';

async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const found = await execa('sh', ['-c', `command -v ${command}`], { env, reject: false });
  return found.exitCode === 0;
}

export function localRestore(env: NodeJS.ProcessEnv): RestoreLocal {
  return {
    async nonEmpty(dir) {
      try {
        return (await readdir(dir)).length > 0;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
    async writeFile(file, chunks, signal) {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await pipeline(Readable.from(chunks), createWriteStream(file, { mode: 0o600 }), { signal });
    },
    async remove(path) {
      await rm(path, { recursive: true, force: true });
    },
    async restore(file, dir, member, signal) {
      const tool = (await onPath('etcdutl', env))
        ? 'etcdutl'
        : (await onPath('etcdctl', env))
          ? 'etcdctl'
          : undefined;
      if (tool === undefined) {
        throw new IncompatibleError(
          'neither etcdutl nor etcdctl is on PATH: kboot restores with one of them',
          {
            hint: 'install etcd-client (Debian) or etcd-v3.5+ etcdutl, then run kboot etcd restore again',
          },
        );
      }
      const result = await execa(
        tool,
        [
          'snapshot',
          'restore',
          file,
          '--data-dir',
          dir,
          '--name',
          member.name,
          '--initial-cluster',
          `${member.name}=${member.peerUrl}`,
          '--initial-advertise-peer-urls',
          member.peerUrl,
        ],
        { env: { ...env, ETCDCTL_API: '3' }, reject: false, cancelSignal: signal, all: true },
      );
      if (result.exitCode !== 0) {
        throw new StateConflictError(
          `${tool} snapshot restore failed (exit ${result.exitCode}): ${String(result.all ?? '')
            .trim()
            .split('\n')
            .at(-1)}`,
          {
            hint: 'the data directory was removed; see the message above',
          },
        );
      }
      return tool;
    },
  };
}
