/**
 * The cluster's admin kubeconfig (kubeadm's admin.conf, from `kboot/<cluster>/admin.conf`) and
 * the entries kboot writes from it into an operator's kubeconfig. kubeadm names everything
 * `kubernetes` / `kubernetes-admin`, so every cluster would collide; kboot renames them:
 * cluster `<name>`, user `<name>-admin`, context `--context` or `<name>`.
 * Pure: text in, entries out. Errors name the field, never a value.
 */

import YAML from 'yaml';
import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import { Secret } from '../../core/secrets.js';
import { yamlData } from '../config/yaml.js';
import { describeIssues } from '../join/validation.js';

export interface AdminKubeconfig {
  /** The cluster entry's body (server, certificate-authority-data, …): public. */
  cluster: Record<string, unknown>;
  /** The user entry's body: client certificate and key. */
  user: Secret<Record<string, unknown>>;
  /** The context's namespace, when admin.conf sets one. */
  namespace: string | undefined;
}

export interface EntryNames {
  cluster: string;
  user: string;
  context: string;
}

/** What kboot writes into a kubeconfig for one cluster. */
export interface KubeconfigEntries {
  names: EntryNames;
  admin: AdminKubeconfig;
}

/** cluster `<name>`, user `<name>-admin`, context `contextName` or `<name>`. */
export function entryNames(clusterName: string, contextName?: string): EntryNames {
  return { cluster: clusterName, user: `${clusterName}-admin`, context: contextName ?? clusterName };
}

const name = z.string().min(1);
const body = z.record(z.string(), z.unknown());

const adminSchema = z.object({
  clusters: z
    .array(
      z.object({
        name,
        cluster: z.looseObject({
          server: z.string().regex(/^https?:\/\/\S+$/, { error: 'expected an http(s) URL' }),
        }),
      }),
    )
    .min(1),
  users: z.array(z.object({ name, user: body })).min(1),
  contexts: z
    .array(
      z.object({
        name,
        context: z.looseObject({ cluster: name, user: name, namespace: z.string().optional() }),
      }),
    )
    .min(1),
  'current-context': z.string().optional(),
});

/** kubectl writes keys in alphabetical order; so does kboot, for entries it creates. */
function sortedKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function malformed(source: string, problem: string): StateConflictError {
  return new StateConflictError(`the admin kubeconfig in ${source} is malformed: ${problem}`, {
    hint: 'republish it from a control-plane node (/etc/kubernetes/admin.conf), or check who else writes this secret',
    details: { source },
  });
}

/**
 * Parses admin.conf and picks its admin context: `current-context`, or the only context.
 * `source` names where it came from in errors ("secret kboot/prod/admin.conf").
 */
export function parseAdminKubeconfig(text: Secret<string>, source: string): AdminKubeconfig {
  // The YAML parser's messages quote the source line, so only positions are passed on.
  const doc = YAML.parseDocument(text.reveal(), { uniqueKeys: false });
  const parseError = doc.errors[0];
  if (parseError !== undefined) {
    const at = parseError.linePos?.[0];
    throw malformed(
      source,
      `it is not valid YAML${at === undefined ? '' : ` (line ${at.line}, column ${at.col})`}`,
    );
  }
  const raw: unknown = yamlData(doc, source, (problem) => malformed(source, problem));
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw malformed(source, 'it is not a YAML mapping');
  const result = adminSchema.safeParse(raw);
  if (!result.success) throw malformed(source, describeIssues(result.error.issues, raw));
  const config = result.data;

  const current = config['current-context'];
  let context: (typeof config.contexts)[number] | undefined;
  if (current !== undefined && current !== '') {
    context = config.contexts.find((entry) => entry.name === current);
    if (context === undefined)
      throw malformed(source, `current-context names "${current}", which is not in contexts`);
  } else if (config.contexts.length === 1) {
    context = config.contexts[0];
  } else {
    throw malformed(source, 'current-context is missing and there is more than one context');
  }
  if (context === undefined) throw malformed(source, 'contexts is empty');
  const contextIndex = config.contexts.indexOf(context);
  const cluster = config.clusters.find((entry) => entry.name === context.context.cluster);
  if (cluster === undefined) {
    throw malformed(
      source,
      `contexts[${contextIndex}].context.cluster names "${context.context.cluster}", which is not in clusters`,
    );
  }
  const user = config.users.find((entry) => entry.name === context.context.user);
  if (user === undefined) {
    throw malformed(
      source,
      `contexts[${contextIndex}].context.user names "${context.context.user}", which is not in users`,
    );
  }
  if (Object.keys(user.user).length === 0)
    throw malformed(source, `users[${config.users.indexOf(user)}].user is empty`);
  return {
    cluster: sortedKeys(cluster.cluster),
    user: new Secret(sortedKeys(user.user)),
    namespace: context.context.namespace,
  };
}
