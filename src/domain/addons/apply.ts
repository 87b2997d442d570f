/**
 * Applies the planned addons one after another with
 * `kubectl apply --server-side --field-manager=kboot -f -` (the manifest on stdin), against the
 * admin kubeconfig. Server-side apply makes each step idempotent: applying the same manifest
 * again changes nothing. The first failure stops the rest and names the addon and its file.
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import { KubectlError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { InstanceFiles } from '../ports/files.js';
import type { KubectlRunner } from '../ports/kubectl.js';
import type { Addon } from './plan.js';

export const APPLY_ARGS = ['apply', '--server-side', '--field-manager=kboot', '-f', '-'] as const;

export interface ApplyAddonsDeps {
  kubectl: KubectlRunner;
  fs: InstanceFiles;
  logger: Logger;
  clock: Clock;
  /** The admin kubeconfig, as a path on the instance (resolved under the root). */
  kubeconfigPath: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called before each addon, so the caller can name the step that failed. */
  onAddon?(addon: Addon): void;
}

export interface AppliedAddon {
  name: string;
  file: string;
  /** kubectl's one line per object: `daemonset.apps/cilium serverside-applied`. */
  objects: string[];
}

/** kubectl's per-object lines (`<resource>/<name> <what happened>`). */
export function appliedObjects(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\S+\/\S+ \S/.test(line));
}

export async function applyAddons(deps: ApplyAddonsDeps, addons: readonly Addon[]): Promise<AppliedAddon[]> {
  const applied: AppliedAddon[] = [];
  const kubeconfigPath = deps.fs.resolve(deps.kubeconfigPath);
  for (const addon of addons) {
    deps.onAddon?.(addon);
    if (addon.origin === 'rendered') await deps.fs.writePrivateFile(addon.file, addon.manifest);
    const startedMs = deps.clock.nowMs();
    deps.logger.info({ addon: addon.name, file: addon.file }, `applying addon ${addon.description}`);
    let stdout: string;
    try {
      ({ stdout } = await deps.kubectl.run([...APPLY_ARGS], {
        kubeconfigPath,
        stdin: addon.manifest,
        timeoutMs: deps.timeoutMs,
        signal: deps.signal,
      }));
    } catch (error) {
      if (!(error instanceof KubectlError)) throw error;
      throw new KubectlError(`addon ${addon.name} (${addon.file}) was not applied: ${error.message}`, {
        cause: error,
        hint:
          addon.origin === 'addons.d'
            ? `fix or remove ${addon.file}; kboot reset this node, and the next run starts over`
            : 'see the kubectl output in the log (journalctl -u kboot); kboot reset this node, and the next run starts over',
        details: { addon: addon.name, file: addon.file },
      });
    }
    const objects = appliedObjects(stdout);
    deps.logger.info(
      {
        addon: addon.name,
        file: addon.file,
        objects: objects.length,
        kubectl: objects,
        took: formatDurationMs(deps.clock.nowMs() - startedMs),
      },
      `applied addon ${addon.name}: ${objects.length} object${objects.length === 1 ? '' : 's'}`,
    );
    applied.push({ name: addon.name, file: addon.file, objects });
  }
  return applied;
}
