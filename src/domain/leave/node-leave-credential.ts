/**
 * The credential a worker uses to leave the cluster. Workers never hold admin credentials, and a
 * kubelet's own credentials cannot evict pods nor delete its Node, so the masters publish a
 * least-privilege one: the ServiceAccount `kube-system/kboot-node-leave`, bound to a ClusterRole
 * with exactly what `kubectl drain` and `kubectl delete node` need, and a short-lived token of it
 * (TokenRequest, `kubectl create token --duration`) in a kubeconfig, stored in Secrets Manager as
 * `kboot/<cluster>/node-leave` (readable by workers). The first master publishes it after init;
 * `kboot rotate` renews it well before it expires. Pure: data in, text out.
 */

import YAML from 'yaml';
import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import { Secret } from '../../core/secrets.js';

export const NODE_LEAVE_NAMESPACE = 'kube-system';
export const NODE_LEAVE_SERVICE_ACCOUNT = 'kboot-node-leave';
/** Lifetime of a published token; rotate renews it when less than NODE_LEAVE_RENEW_BEFORE_MS is left. */
export const NODE_LEAVE_TOKEN_TTL_MS = 48 * 60 * 60_000;
export const NODE_LEAVE_RENEW_BEFORE_MS = 24 * 60 * 60_000;
export const NODE_LEAVE_SCHEMA_VERSION = 1;

/**
 * What `kubectl drain` (cordon: get/patch nodes; list pods on the node, get their DaemonSet
 * owners, create evictions, get pods to wait for them to go) and `kubectl delete node` need.
 */
export const NODE_LEAVE_RULES = [
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
] as const;

/** ServiceAccount, ClusterRole and ClusterRoleBinding, for `kubectl apply -f -`. */
export function renderNodeLeaveRbac(): string {
  const labels = { 'app.kubernetes.io/managed-by': 'kboot' };
  const docs = [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: NODE_LEAVE_SERVICE_ACCOUNT, namespace: NODE_LEAVE_NAMESPACE, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `kboot:node-leave`, labels },
      rules: NODE_LEAVE_RULES.map((rule) => ({ ...rule })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `kboot:node-leave`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kboot:node-leave' },
      subjects: [
        { kind: 'ServiceAccount', name: NODE_LEAVE_SERVICE_ACCOUNT, namespace: NODE_LEAVE_NAMESPACE },
      ],
    },
  ];
  return docs.map((doc) => YAML.stringify(doc)).join('---\n');
}

export interface NodeLeaveKubeconfigInput {
  cluster: string;
  /** The admin kubeconfig's cluster entry (server, certificate-authority-data): public. */
  clusterEntry: Record<string, unknown>;
  token: Secret<string>;
}

/** A kubeconfig that authenticates as the node-leave ServiceAccount with a bearer token. */
export function renderNodeLeaveKubeconfig(input: NodeLeaveKubeconfigInput): Secret<string> {
  const user = `${input.cluster}-node-leave`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.cluster, cluster: input.clusterEntry }],
    users: [{ name: user, user: { token: input.token.reveal() } }],
    contexts: [{ name: user, context: { cluster: input.cluster, user } }],
    'current-context': user,
  };
  return new Secret(YAML.stringify(doc));
}

/** The value of `kboot/<cluster>/node-leave`. */
export interface NodeLeaveSecret {
  schemaVersion: number;
  kubeconfig: Secret<string>;
  expiresAt: string;
  updatedAt: string;
}

const secretShape = z.object({
  schemaVersion: z.literal(NODE_LEAVE_SCHEMA_VERSION),
  kubeconfig: z.string().min(1),
  expiresAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export function serializeNodeLeaveSecret(secret: NodeLeaveSecret): string {
  return JSON.stringify({ ...secret, kubeconfig: secret.kubeconfig.reveal() });
}

/** Errors name the field, never a value. */
export function parseNodeLeaveSecret(text: string, source: string): NodeLeaveSecret {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = secretShape.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new StateConflictError(`${source} is not a kboot node-leave credential (bad fields: ${fields})`, {
      hint: "run 'kboot rotate' on a control-plane instance to publish it again",
    });
  }
  return { ...parsed.data, kubeconfig: new Secret(parsed.data.kubeconfig) };
}
