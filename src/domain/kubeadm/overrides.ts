/**
 * User overrides of the rendered kubeadm config: YAML documents, each naming a `kind`, merged over
 * the rendered document of that kind. They come from `/etc/kboot/kubeadm-patches/*.yaml` or the
 * node config; the caller reads the files and hands the text to `parseOverrides`.
 *
 * Merge rules (JSON Merge Patch, RFC 7386, per kind):
 *  - mappings merge key by key, recursively;
 *  - everything else replaces: scalars, and arrays as a whole. In kubeadm.k8s.io/v1beta4,
 *    `extraArgs` and `kubeletExtraArgs` are lists of {name, value}, so overriding one replaces
 *    every argument kboot set there (including `cloud-provider: external`): repeat the ones you
 *    keep (`--dry-run` prints them). In v1beta3 they are maps and merge key by key;
 *  - `null` removes a key;
 *  - `apiVersion`, when given, must be the one rendered (an override written for v1beta3 does not
 *    fit a v1beta4 file); `kind` picks the document and cannot change.
 * Overrides of a kind the command does not read are ignored, as kubeadm ignores such documents
 * (ClusterConfiguration on join). For init, KubeletConfiguration and KubeProxyConfiguration
 * overrides are added as documents when kboot rendered none.
 */

import { parseAllDocuments } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { yamlData } from '../config/yaml.js';
import type { KubeadmDocument, KubeadmOverride } from './types.js';

export type { KubeadmOverride };

/** Kinds an override may name, with the API version used when one is added as a new document. */
export const OVERRIDE_KINDS: Readonly<Record<string, string | undefined>> = {
  InitConfiguration: undefined,
  ClusterConfiguration: undefined,
  JoinConfiguration: undefined,
  KubeletConfiguration: 'kubelet.config.k8s.io/v1beta1',
  KubeProxyConfiguration: 'kubeproxy.config.k8s.io/v1alpha1',
};

/** The kinds each kubeadm command reads from its config file. */
export const KINDS_READ_BY: Readonly<Record<'init' | 'join', readonly string[]>> = {
  init: ['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration', 'KubeProxyConfiguration'],
  join: ['JoinConfiguration'],
};

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** RFC 7386: mappings merge, `null` deletes, anything else replaces. Inputs are not modified. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMapping(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isMapping(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Parses one overrides file (several documents allowed) and checks each names a known kind. */
export function parseOverrides(text: string, source: string): KubeadmOverride[] {
  const overrides: KubeadmOverride[] = [];
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const where = list.length > 1 ? `${source} (document ${index + 1})` : source;
    const error = document.errors[0];
    if (error !== undefined) {
      throw new ConfigError(`${where} is not valid YAML: ${error.message.split('\n')[0]}`, {
        hint: 'fix the YAML syntax of the kubeadm override',
      });
    }
    const value: unknown = yamlData(document, where);
    if (value === null || value === undefined) return;
    if (!isMapping(value)) {
      throw new ConfigError(`${where} is not a mapping`, {
        hint: 'an override is a YAML mapping with a kind and the fields to change',
      });
    }
    const kind = value.kind;
    if (typeof kind !== 'string' || !Object.hasOwn(OVERRIDE_KINDS, kind)) {
      throw new ConfigError(
        `${where} has ${typeof kind === 'string' ? `unknown kind "${kind}"` : 'no kind'}`,
        {
          hint: `set kind to one of ${Object.keys(OVERRIDE_KINDS).join(', ')}`,
        },
      );
    }
    if (value.apiVersion !== undefined && typeof value.apiVersion !== 'string') {
      throw new ConfigError(`${where}: apiVersion must be a string`, {
        hint: 'drop apiVersion or give the one kboot renders',
      });
    }
    overrides.push({ source: where, document: value });
  });
  return overrides;
}

/** Paths of arguments that are lists of {name, value} in v1beta4 and maps in v1beta3. */
const ARG_PATHS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  InitConfiguration: [['nodeRegistration', 'kubeletExtraArgs']],
  JoinConfiguration: [['nodeRegistration', 'kubeletExtraArgs']],
  ClusterConfiguration: [
    ['apiServer', 'extraArgs'],
    ['controllerManager', 'extraArgs'],
    ['scheduler', 'extraArgs'],
    ['etcd', 'local', 'extraArgs'],
  ],
};

function valueAt(document: Record<string, unknown>, path: readonly string[]): unknown {
  let current: unknown = document;
  for (const key of path) {
    if (!isMapping(current)) return undefined;
    current = current[key];
  }
  return current;
}

function checkArgShapes(document: KubeadmDocument, source: string): void {
  const listForm = document.apiVersion === 'kubeadm.k8s.io/v1beta4';
  for (const path of ARG_PATHS[document.kind] ?? []) {
    const value = valueAt(document, path);
    if (value === undefined) continue;
    const ok = listForm
      ? Array.isArray(value) && value.every((item) => isMapping(item) && typeof item.name === 'string')
      : isMapping(value);
    if (!ok) {
      throw new ConfigError(
        `${source}: ${document.kind}.${path.join('.')} must be ${listForm ? 'a list of {name, value}' : 'a map of name: value'} in ${document.apiVersion}`,
        {
          hint: listForm
            ? 'write arguments as "- name: cloud-provider\\n  value: external" (kubeadm.k8s.io/v1beta4)'
            : 'write arguments as "cloud-provider: external" (kubeadm.k8s.io/v1beta3)',
        },
      );
    }
  }
}

export interface MergeOptions {
  /** Kinds added as new documents when no rendered document has them. */
  readonly appendKinds?: readonly string[];
}

/** Merges the overrides, in order, over the documents of their kind; see the module comment. */
export function mergeOverrides(
  documents: readonly KubeadmDocument[],
  overrides: readonly KubeadmOverride[],
  options: MergeOptions = {},
): KubeadmDocument[] {
  const out = documents.map((document) => structuredClone(document));
  const appendKinds = new Set(options.appendKinds ?? []);
  for (const override of overrides) {
    const { kind, apiVersion, ...fields } = override.document;
    if (typeof kind !== 'string') continue;
    const index = out.findIndex((document) => document.kind === kind);
    const existing = out[index];
    if (existing !== undefined) {
      if (apiVersion !== undefined && apiVersion !== existing.apiVersion) {
        throw new ConfigError(
          `${override.source}: the ${kind} override is written for ${String(apiVersion)}, but kboot renders ${existing.apiVersion} for this kubeadm`,
          { hint: `drop apiVersion from the override, or rewrite it for ${existing.apiVersion}` },
        );
      }
      const merged = mergePatch(existing, fields) as Record<string, unknown>;
      const document: KubeadmDocument = { apiVersion: existing.apiVersion, kind, ...merged };
      checkArgShapes(document, override.source);
      out[index] = document;
      continue;
    }
    if (!appendKinds.has(kind)) continue;
    const defaultApiVersion = OVERRIDE_KINDS[kind];
    const version = typeof apiVersion === 'string' ? apiVersion : defaultApiVersion;
    if (version === undefined) {
      throw new ConfigError(`${override.source}: the ${kind} override needs an apiVersion`, {
        hint: 'add the apiVersion of the document it adds',
      });
    }
    out.push({ apiVersion: version, kind, ...(mergePatch({}, fields) as Record<string, unknown>) });
  }
  return out;
}
