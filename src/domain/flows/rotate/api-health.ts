/**
 * After `kboot rotate` renewed this member's kubeadm certificates and restarted its static Pods
 * (certificates.ts): its own API server must answer again — `kubectl get --raw=/readyz` against
 * its advertise address (in the serving certificate's names) and secure port, with its
 * admin.conf — before its member item says the certificates are renewed. Polled until the
 * deadline; a member whose API server does not come back fails the run (exit 6) with its item
 * still showing the expiry from before, and the next run's check records the new one once it
 * answers.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { ClusterTimeoutError, KubectlError } from '../../../core/errors.js';
import { jitteredMs, progressTicker } from '../../state/polling.js';
import type { Step } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';
import { ADMIN_CONF_PATH } from '../paths.js';
import { type CertificatesState, MANIFESTS_DIR, recordCheck } from './certificates.js';

/** How long a restarted API server gets to answer /readyz (etcd and the API server start again). */
export const DEFAULT_API_HEALTH_TIMEOUT_MS = 3 * 60_000;
const PROBE_TIMEOUT_MS = 10_000;
const DEFAULT_SECURE_PORT = 6443;

/** The kube-apiserver's --secure-port in its static Pod manifest (6443 when unset or unreadable). */
export function securePort(manifest: string | undefined): number {
  const match =
    /--secure-port=(\d{1,5})\b/.exec(manifest ?? '') ??
    /secure-port['"]?:\s*['"]?(\d{1,5})/.exec(manifest ?? '');
  const port = match?.[1] === undefined ? DEFAULT_SECURE_PORT : Number(match[1]);
  return port >= 1 && port <= 65_535 ? port : DEFAULT_SECURE_PORT;
}

async function answers(deps: FlowDeps, server: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    const { stdout } = await deps.kubectl.run(['get', '--raw=/readyz', `--server=${server}`], {
      kubeconfigPath: deps.fs.resolve(ADMIN_CONF_PATH),
      timeoutMs: PROBE_TIMEOUT_MS,
      signal,
    });
    return stdout.trim() === 'ok' ? undefined : `answered ${stdout.trim().slice(0, 200) || 'nothing'}`;
  } catch (error) {
    if (signal.aborted || !(error instanceof KubectlError)) throw error;
    return error.message.slice(0, 300);
  }
}

export function apiHealthStep<T extends CertificatesState>(
  timeoutMs: (state: T['options']) => number = (options) =>
    options.apiHealthTimeoutMs ?? DEFAULT_API_HEALTH_TIMEOUT_MS,
): Step<T, FlowDeps> {
  return {
    name: 'api-health',
    kind: 'change',
    describe: (state) =>
      `check that this member's API server answers again (kubectl get --raw=/readyz against https://${state.get('identity').instance.privateIpv4}, within ${formatDurationMs(timeoutMs(state.get('options')))}), then record its renewed certificates' expiry in its member item`,
    // As restart-control-plane's: it runs after every restart.
    skip: (state) =>
      state.get('restartPending') || state.get('certificates').due
        ? undefined
        : 'the control plane was not restarted this run',
    noUndo: 'a check, then an informational stamp: nothing to undo',
    async run({ state, deps, logger, signal }) {
      const port = securePort(await deps.fs.readText(`${MANIFESTS_DIR}/kube-apiserver.yaml`));
      const server = `https://${state.get('identity').instance.privateIpv4}:${port}`;
      const startMs = deps.clock.nowMs();
      const deadlineMs = startMs + timeoutMs(state.get('options'));
      const due = progressTicker();
      for (;;) {
        const problem = await answers(deps, server, signal);
        const nowMs = deps.clock.nowMs();
        if (problem === undefined) {
          logger.info({ server, waitedMs: nowMs - startMs }, "this member's API server answers /readyz");
          break;
        }
        if (nowMs >= deadlineMs) {
          throw new ClusterTimeoutError(
            `this member's API server (${server}) did not answer /readyz within ${formatDurationMs(nowMs - startMs)} of its restart with renewed certificates (${problem}); its member item still shows the expiry from before the renewal`,
            {
              hint: "check the kubelet and the control-plane Pods on this member (journalctl -u kubelet; crictl ps -a); once the API server answers, the next 'kboot rotate' records the new expiry",
            },
          );
        }
        if (due(nowMs))
          logger.info({ server, problem }, "waiting for this member's API server to answer /readyz");
        await deps.clock.sleepMs(
          Math.max(1, Math.min(jitteredMs(deps.settings.pollMs), deadlineMs - nowMs)),
          signal,
        );
      }
      const renewed = state.peek('renewedCertificates');
      if (renewed !== undefined) await recordCheck(state.get('identity'), deps, renewed, signal);
      return undefined;
    },
  };
}
