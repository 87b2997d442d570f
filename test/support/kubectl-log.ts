/**
 * Reading what the recording kubectl (test/fixtures/bin/kubectl) saw, and seeding its object store
 * (the simulated API server) with objects a test needs to exist, e.g. Node objects for drain.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  applyObject,
  listObjects,
  readObject,
  type StoredObject,
} from '../fixtures/lib/fake-kubectl/store.mjs';
import { repoRoot } from './paths.js';

export type { StoredObject };

/** The recording kubectl's path, for KBOOT_KUBECTL. */
export function fakeKubectlPath(): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'bin', 'kubectl');
}

export interface KubectlObjectResult {
  source?: string;
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
  /** What the store did: created, configured, unchanged (apply) or deleted. */
  result: 'created' | 'configured' | 'unchanged' | 'deleted';
}

export interface KubectlInvocation {
  pid: number;
  argv: string[];
  /** `apply`, `get`, `create token`, `drain`, … */
  command: string | null;
  /** The kubeconfig kubectl was given (--kubeconfig or KUBECONFIG), its octal mode when it existed. */
  kubeconfig: { path: string; exists: boolean; mode: string | null } | null;
  /** What was piped in, when `-f -` was given. */
  stdin: string | null;
  env: Record<string, string>;
  /** The names of every variable kubectl was given (not their values). */
  envNames: string[];
  objects: KubectlObjectResult[];
  token?: { namespace: string; serviceAccount: string; expirationSeconds: number };
  drain?: { node: string; timeoutMs: number; drainMs: number; flags: Record<string, unknown> };
  /** The object store this call used (null when no API server was reachable). */
  stateDir?: string | null;
  injectedFailure?: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
  startedAtMs: number;
  endedAtMs: number;
  durationMs: number;
}

/** Every invocation logged to `logFile` ($FAKE_KUBECTL_LOG), in the order they finished. */
export function readKubectlLog(logFile: string): KubectlInvocation[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KubectlInvocation);
}

/** Puts objects into the store ($FAKE_KUBECTL_STATE_DIR) as if applied by someone else. */
export function seedObjects(stateDir: string, objects: readonly StoredObject[]): void {
  for (const object of objects) applyObject(stateDir, object, { fieldManager: 'test-seed' });
}

/** A Node object as the kubelet registers it, Ready, optionally a control-plane node. */
export function nodeObject(
  name: string,
  options: { controlPlane?: boolean; providerId?: string } = {},
): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        ...(options.controlPlane === true ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
    },
    spec: options.providerId === undefined ? {} : { providerID: options.providerId },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** One stored object by apiVersion's group, kind, name (and namespace for namespaced kinds). */
export function storedObject(
  stateDir: string,
  key: { group?: string; kind: string; name: string; namespace?: string },
): StoredObject | undefined {
  return readObject(stateDir, {
    group: key.group ?? '',
    kind: key.kind,
    name: key.name,
    namespace: key.namespace,
  });
}

/** Every stored object of one kind. */
export function storedObjects(
  stateDir: string,
  key: { group?: string; kind: string; namespace?: string },
): StoredObject[] {
  return listObjects(stateDir, { group: key.group ?? '', kind: key.kind, namespace: key.namespace });
}
