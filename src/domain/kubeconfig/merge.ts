/**
 * Merges kboot's entries for one cluster into a kubeconfig, as text in and text out, through the
 * `yaml` Document API so that everything else (other clusters, users and contexts, comments,
 * key order, fields kboot does not know) survives as it was.
 *
 * Rules:
 * - the cluster entry `<name>` gets the admin cluster's fields (server, CA data), replacing those
 *   it conflicts with (a CA file, insecure-skip-tls-verify); fields you added (proxy-url,
 *   tls-server-name, extensions) are kept;
 * - the user entry `<name>-admin` is replaced whole (credentials must not mix);
 * - the context gets cluster and user set, and keeps a namespace you chose;
 * - entries with the same name beyond the first are removed;
 * - current-context changes only with `setCurrent`, or when the file has none;
 * - nothing changes when everything already matches (`changed: false`): a second run is a no-op.
 * Pure: no I/O. The result is a Secret (it holds every credential of the file).
 */

import { isDeepStrictEqual } from 'node:util';
import YAML, { type Document, isMap, isNode, isScalar, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { Secret } from '../../core/secrets.js';
import { YAML_TO_JS_OPTIONS, yamlData } from '../config/yaml.js';
import type { KubeconfigEntries } from './admin.js';

export interface MergeOptions {
  /** Make kboot's context the current one even when the file has another. */
  setCurrent: boolean;
  /** The file's name, for errors. */
  source: string;
}

export interface MergeResult {
  text: Secret<string>;
  changed: boolean;
  /** What changed ("cluster prod", "user prod-admin", "current-context"), for the log line. */
  changes: string[];
  currentContext: string | undefined;
}

const EMPTY_KUBECONFIG = {
  apiVersion: 'v1',
  clusters: [],
  contexts: [],
  'current-context': '',
  kind: 'Config',
  preferences: {},
  users: [],
};

/** Fields that clash with one kboot sets (client-go refuses a CA file and CA data together). */
const CLASHES: Readonly<Record<string, readonly string[]>> = {
  'certificate-authority-data': ['certificate-authority', 'insecure-skip-tls-verify'],
  'client-certificate-data': ['client-certificate'],
  'client-key-data': ['client-key'],
};

function configError(source: string, problem: string): ConfigError {
  return new ConfigError(`${source} ${problem}`, {
    hint: 'fix that file, merge into another one with --file PATH, or print the kubeconfig with --print',
    details: { file: source },
  });
}

function toJs(doc: Document, node: unknown): unknown {
  return isNode(node) ? node.toJS(doc, YAML_TO_JS_OPTIONS) : node;
}

/** A node for a plain value; never anchors and aliases for repeated objects. */
function createNode(doc: Document, value: unknown) {
  return doc.createNode(value, { aliasDuplicateObjects: false });
}

function isNull(node: unknown): boolean {
  return node === undefined || node === null || (isScalar(node) && node.value === null);
}

/** Parses the existing text; the parser's messages quote the source (credentials), so only positions are kept. */
function parseExisting(text: string | undefined, source: string): Document {
  const doc = YAML.parseDocument(text ?? '');
  const parseError = doc.errors[0];
  if (parseError !== undefined) {
    const at = parseError.linePos?.[0];
    throw configError(
      source,
      `is not valid YAML${at === undefined ? '' : ` (line ${at.line}, column ${at.col})`}`,
    );
  }
  // Refuses an alias bomb here, before any part of it is turned into data.
  yamlData(doc, source, (problem) => configError(source, `is refused: ${problem}`));
  if (isNull(doc.contents)) doc.contents = doc.createNode(EMPTY_KUBECONFIG) as unknown as typeof doc.contents;
  if (!isMap(doc.contents)) throw configError(source, 'is not a kubeconfig: its top level is not a mapping');
  const kind = doc.get('kind');
  if (kind !== undefined && kind !== null && kind !== 'Config') {
    throw configError(source, `is not a kubeconfig: its kind is "${String(kind)}", not "Config"`);
  }
  return doc;
}

/** The list under `key`, made when missing or null. */
function namedList(doc: Document, root: YAMLMap, key: string, source: string): YAMLSeq {
  const node = root.get(key, true);
  if (isNull(node)) {
    const seq = doc.createNode([]) as YAMLSeq;
    root.set(key, seq);
    return seq;
  }
  if (!isSeq(node)) throw configError(source, `is not a kubeconfig: ${key} is not a list`);
  return node;
}

/**
 * Makes exactly one entry `name` in `list` whose `bodyKey` holds `desired`: merged field by field
 * (`merge`) or replaced whole (`replace`). Returns whether anything changed.
 */
function upsertEntry(
  doc: Document,
  list: YAMLSeq,
  name: string,
  bodyKey: string,
  desired: Record<string, unknown>,
  mode: 'merge' | 'replace',
): boolean {
  const matches = list.items.filter((item): item is YAMLMap => isMap(item) && item.get('name') === name);
  const [entry, ...duplicates] = matches;
  if (entry === undefined) {
    if (list.items.length === 0) list.flow = false;
    // Keys in kubectl's (alphabetical) order: cluster/context before name, name before user.
    const fields = Object.entries({ [bodyKey]: desired, name }).sort(([a], [b]) => a.localeCompare(b));
    list.items.push(createNode(doc, Object.fromEntries(fields)));
    return true;
  }
  let changed = false;
  for (const duplicate of duplicates) {
    list.items.splice(list.items.indexOf(duplicate), 1);
    changed = true;
  }
  const body = entry.get(bodyKey, true);
  if (mode === 'replace' || !isMap(body)) {
    if (!isDeepStrictEqual(toJs(doc, body), desired)) {
      entry.set(bodyKey, createNode(doc, desired));
      changed = true;
    }
    return changed;
  }
  for (const [key, value] of Object.entries(desired)) {
    if (!isDeepStrictEqual(toJs(doc, body.get(key, true)), value)) {
      body.set(key, createNode(doc, value));
      changed = true;
    }
    for (const clash of CLASHES[key] ?? []) {
      if (body.has(clash)) {
        body.delete(clash);
        changed = true;
      }
    }
  }
  return changed;
}

/** Block sequences indented under their key ("key:\n  - a"), or kubectl's style ("key:\n- a")? */
function indentsSequences(text: string | undefined): boolean {
  return text !== undefined && /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\n\1[ \t]+- /m.test(text);
}

export function mergeKubeconfig(
  existing: string | undefined,
  entries: KubeconfigEntries,
  options: MergeOptions,
): MergeResult {
  const { names, admin } = entries;
  const doc = parseExisting(existing, options.source);
  const root = doc.contents as unknown as YAMLMap;
  const changes: string[] = [];

  const clusters = namedList(doc, root, 'clusters', options.source);
  const users = namedList(doc, root, 'users', options.source);
  const contexts = namedList(doc, root, 'contexts', options.source);
  if (upsertEntry(doc, clusters, names.cluster, 'cluster', admin.cluster, 'merge')) {
    changes.push(`cluster ${names.cluster}`);
  }
  if (upsertEntry(doc, users, names.user, 'user', admin.user.reveal(), 'replace')) {
    changes.push(`user ${names.user}`);
  }
  const context: Record<string, unknown> = { cluster: names.cluster, user: names.user };
  if (admin.namespace !== undefined) context.namespace = admin.namespace;
  if (upsertEntry(doc, contexts, names.context, 'context', context, 'merge')) {
    changes.push(`context ${names.context}`);
  }

  const current = root.get('current-context');
  const hasCurrent = typeof current === 'string' && current !== '';
  if (options.setCurrent ? current !== names.context : !hasCurrent) {
    root.set('current-context', names.context);
    changes.push('current-context');
  }
  const currentContext = root.get('current-context');
  return {
    text: new Secret(
      doc.toString({ lineWidth: 0, indentSeq: indentsSequences(existing), flowCollectionPadding: false }),
    ),
    changed: changes.length > 0,
    changes,
    currentContext: typeof currentContext === 'string' && currentContext !== '' ? currentContext : undefined,
  };
}

/** A kubeconfig holding kboot's entries only, with its context current (`kboot kubeconfig --print`). */
export function renderKubeconfig(entries: KubeconfigEntries): Secret<string> {
  return mergeKubeconfig(undefined, entries, { setCurrent: true, source: 'kubeconfig' }).text;
}
