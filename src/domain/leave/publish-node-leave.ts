/**
 * Keeps `kboot/<cluster>/node-leave` fresh, from a master with admin.conf: when the published
 * credential is missing, unreadable or has less than NODE_LEAVE_RENEW_BEFORE_MS left, apply the
 * RBAC (ServiceAccount, ClusterRole, binding; `kubectl apply -f -`, idempotent), request a token
 * (`kubectl create token --duration`, TokenRequest: nothing long-lived is stored in the cluster),
 * and publish a kubeconfig with it. The token travels from kubectl's stdout to Secrets Manager
 * only, wrapped in Secret; it is never logged nor put in argv.
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import { IncompatibleError, StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { Secret } from '../../core/secrets.js';
import { ADMIN_CONF_PATH } from '../flows/paths.js';
import { parseAdminKubeconfig } from '../kubeconfig/admin.js';
import type { InstanceFiles } from '../ports/files.js';
import type { KubectlRunner } from '../ports/kubectl.js';
import {
  NODE_LEAVE_NAMESPACE,
  NODE_LEAVE_RENEW_BEFORE_MS,
  NODE_LEAVE_SCHEMA_VERSION,
  NODE_LEAVE_SERVICE_ACCOUNT,
  NODE_LEAVE_TOKEN_TTL_MS,
  renderNodeLeaveKubeconfig,
  renderNodeLeaveRbac,
} from './node-leave-credential.js';
import type { NodeLeaveStore } from './node-leave-store.js';

const KUBECTL_TIMEOUT_MS = 60_000;

export interface NodeLeavePublisherDeps {
  kubectl: KubectlRunner;
  store: NodeLeaveStore;
  fs: InstanceFiles;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}

export interface NodeLeaveReport {
  action: 'renewed' | 'kept';
  expiresAt: string;
}

export async function ensureNodeLeaveCredential(
  deps: NodeLeavePublisherDeps,
  cluster: string,
  options: { kmsKeyId?: string } = {},
): Promise<NodeLeaveReport> {
  const { clock, logger } = deps;
  let current: Awaited<ReturnType<NodeLeaveStore['read']>>;
  try {
    current = await deps.store.read(cluster);
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    logger.warn({ problem: error.message }, 'the node-leave credential is unreadable; publishing a new one');
    current = undefined;
  }
  const leftMs = current === undefined ? undefined : Date.parse(current.expiresAt) - clock.nowMs();
  if (current !== undefined && leftMs !== undefined && leftMs > NODE_LEAVE_RENEW_BEFORE_MS) {
    return { action: 'kept', expiresAt: current.expiresAt };
  }
  const adminText = await deps.fs.readText(ADMIN_CONF_PATH);
  if (adminText === undefined) {
    throw new IncompatibleError(
      `${ADMIN_CONF_PATH} is missing, so this master cannot publish the node-leave credential`,
      {
        hint: 'run kboot rotate on a control-plane member that has joined',
      },
    );
  }
  const clusterEntry = parseAdminKubeconfig(new Secret(adminText), ADMIN_CONF_PATH).cluster;
  const kubeconfigPath = deps.fs.resolve(ADMIN_CONF_PATH);
  const run = { kubeconfigPath, timeoutMs: KUBECTL_TIMEOUT_MS, signal: deps.signal };
  await deps.kubectl.run(['apply', '-f', '-'], { ...run, stdin: renderNodeLeaveRbac() });
  const expiresAt = new Date(clock.nowMs() + NODE_LEAVE_TOKEN_TTL_MS).toISOString();
  const created = await deps.kubectl.run(
    [
      'create',
      'token',
      NODE_LEAVE_SERVICE_ACCOUNT,
      '--namespace',
      NODE_LEAVE_NAMESPACE,
      `--duration=${Math.round(NODE_LEAVE_TOKEN_TTL_MS / 1000)}s`,
    ],
    run,
  );
  const token = new Secret(created.stdout.trim());
  if (token.reveal() === '') {
    throw new StateConflictError('kubectl create token printed no token', {
      hint: 'check the API server (kubectl get --raw /healthz) and run kboot rotate again',
    });
  }
  await deps.store.publish(
    cluster,
    {
      schemaVersion: NODE_LEAVE_SCHEMA_VERSION,
      kubeconfig: renderNodeLeaveKubeconfig({ cluster, clusterEntry, token }),
      expiresAt,
      updatedAt: new Date(clock.nowMs()).toISOString(),
    },
    options,
  );
  logger.info(
    { cluster, expiresAt, ttl: formatDurationMs(NODE_LEAVE_TOKEN_TTL_MS) },
    current === undefined ? 'published the node-leave credential' : 'renewed the node-leave credential',
  );
  return { action: 'renewed', expiresAt };
}
