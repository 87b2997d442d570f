/**
 * Which kubeconfig file to write: the one kubectl itself would write to (client-go's
 * PathOptions.GetDefaultFilename): `--file`; else, from KUBECONFIG (a ':'-separated list), its
 * only file, or the first that exists, or when none exists the last; else `$HOME/.kube/config`.
 */

import path from 'node:path';
import { UsageError } from '../../core/errors.js';

export interface KubeconfigPathInputs {
  file: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  exists: (file: string) => boolean;
}

export interface KubeconfigPath {
  file: string;
  /** How it was chosen, for the log line. */
  from: '--file' | 'KUBECONFIG' | 'HOME';
}

export function resolveKubeconfigPath(inputs: KubeconfigPathInputs): KubeconfigPath {
  const { file, env, cwd, exists } = inputs;
  if (file !== undefined && file !== '') return { file: path.resolve(cwd, file), from: '--file' };
  const listed = (env.KUBECONFIG ?? '')
    .split(path.delimiter)
    .filter((entry) => entry !== '')
    .map((entry) => path.resolve(cwd, entry));
  if (listed.length > 0) {
    const chosen = listed.length === 1 ? listed[0] : (listed.find(exists) ?? listed[listed.length - 1]);
    if (chosen !== undefined) return { file: chosen, from: 'KUBECONFIG' };
  }
  const home = env.HOME;
  if (home === undefined || home === '') {
    throw new UsageError('cannot find your kubeconfig: neither KUBECONFIG nor HOME is set', {
      hint: 'pass --file PATH, or set KUBECONFIG',
    });
  }
  return { file: path.resolve(cwd, home, '.kube', 'config'), from: 'HOME' };
}
