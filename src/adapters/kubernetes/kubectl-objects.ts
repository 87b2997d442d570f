/**
 * What the upgrade adapters share: the settings they are built with, one kubectl call with the
 * admin kubeconfig (refused when others could read it) and a time limit, reading an object as JSON, and replacing it with the
 * resourceVersion it was read at (the API server's optimistic concurrency: a write over someone
 * else's newer one fails as a Conflict instead of undoing it). Objects go to kubectl on stdin,
 * never in argv.
 */

import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError, KubectlError, StateConflictError } from '../../core/errors.js';
import type { KubectlRunner } from '../../domain/ports/kubectl.js';

export interface ClusterSideOptions {
  kubectl: KubectlRunner;
  /** The cluster's admin.conf (an absolute path, mode 0600): its credentials stay in the file. */
  kubeconfigPath: string;
  /** The cluster record's apiEndpoint (`host` or `host:port`): the API's load balancer. */
  apiEndpoint: string;
  /** The limit of each kubectl call (default 30 s). */
  callTimeoutMs?: number;
  /** Stops every kubectl call in progress (Ctrl-C, the roll's deadline). */
  signal?: AbortSignal;
  /** The cluster's cloud-controller-manager image override (addons), kept over the versions table. */
  cloudControllerImage?: string;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export type Kubectl = (args: readonly string[], stdin?: string) => Promise<string>;

/**
 * Refuses an admin kubeconfig others could read (it holds the cluster-admin credentials), or one
 * that is not there, before kubectl is run with it.
 */
export async function assertPrivateKubeconfig(file: string): Promise<void> {
  if (!path.isAbsolute(file)) {
    throw new ConfigError(`the admin kubeconfig path "${file}" is not absolute`, {
      hint: 'pass the absolute path of the cluster’s admin.conf',
    });
  }
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch (error) {
    throw new ConfigError(
      `cannot read the admin kubeconfig ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: 'fetch the cluster’s admin.conf first',
      },
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `the admin kubeconfig ${file} is readable by others (mode 0${mode.toString(8)}): it holds the cluster's admin credentials`,
      { hint: `chmod 600 ${file}` },
    );
  }
}

export function kubectlWith(options: ClusterSideOptions): Kubectl {
  let checked: Promise<void> | undefined;
  return async (args, stdin) => {
    checked ??= assertPrivateKubeconfig(options.kubeconfigPath);
    await checked;
    const { stdout } = await options.kubectl.run(args, {
      kubeconfigPath: options.kubeconfigPath,
      timeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      ...(stdin === undefined ? {} : { stdin }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return stdout;
  };
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubectlError && /\(NotFound\)/.test(error.message);
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubectlError && /\(Conflict\)/.test(error.message);
}

/** An object read as JSON and checked against the shape the caller needs. */
export async function getObject<T extends z.ZodType>(
  kubectl: Kubectl,
  shape: T,
  what: string,
  args: readonly string[],
): Promise<z.infer<T>> {
  const stdout = await kubectl(['get', ...args, '-o', 'json']);
  const parsed = shape.safeParse(safeJson(stdout));
  if (!parsed.success) {
    throw new StateConflictError(
      `kubectl get ${what} printed something that is not the ${what} kboot expects`,
      {
        hint:
          'check the kubectl on this machine (kubectl version) and the cluster (kubectl get ' +
          `${what} -o yaml)`,
      },
    );
  }
  return parsed.data;
}

/** The object if it exists, undefined when the API server says NotFound. */
export async function getOptional<T extends z.ZodType>(
  kubectl: Kubectl,
  shape: T,
  what: string,
  args: readonly string[],
): Promise<z.infer<T> | undefined> {
  try {
    return await getObject(kubectl, shape, what, args);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * `kubectl replace -f -` of a whole object, its metadata.resourceVersion included; the server's
 * own fields (managedFields, status) are left to the server.
 */
export async function replaceObject(
  kubectl: Kubectl,
  object: { metadata: Record<string, unknown>; [field: string]: unknown },
): Promise<void> {
  const { status: _status, ...rest } = object;
  const { managedFields: _managed, ...metadata } = object.metadata;
  await kubectl(['replace', '-f', '-'], `${JSON.stringify({ ...rest, metadata })}\n`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
