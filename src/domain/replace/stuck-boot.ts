/**
 * What to do when kboot-boot.service has failed for good: systemd runs kboot-boot-failed.service
 * (OnFailure=) with the failed unit's result in MONITOR_SERVICE_RESULT, MONITOR_EXIT_CODE and
 * MONITOR_EXIT_STATUS (systemd 251+). The unit reaches "failed" only when no restart follows:
 *   - start-limit-hit: the restart budget is spent (32 starts in 6 h: at least 15.5 minutes of
 *     fast failures, longer than IAM and networking take to settle). Retrying on this instance
 *     has stopped helping, so the instance marks itself unhealthy and its Auto Scaling group
 *     replaces it with a fresh one.
 *   - exit status 2 or 9 (bad config or tags, version skew): never retried, and a replacement
 *     from the same launch template would fail the same way, so the group would only churn. The
 *     failure is recorded and logged; the operator fixes the input.
 * Anything else (a result systemd adds later) is recorded, not acted on.
 */

import { ExitCode } from '../../core/errors.js';

export interface MonitorEnv {
  /** MONITOR_SERVICE_RESULT: success, exit-code, signal, timeout, start-limit-hit, … */
  result: string | undefined;
  /** MONITOR_EXIT_CODE: exited, killed, dumped. */
  exitCode: string | undefined;
  /** MONITOR_EXIT_STATUS: the exit status or signal name. */
  exitStatus: string | undefined;
}

export interface StuckBootDecision {
  /** Mark the instance unhealthy in its Auto Scaling group. */
  replace: boolean;
  /** One sentence: what failed and what happens now (the log and lastFailure). */
  reason: string;
}

export function monitorEnv(env: NodeJS.ProcessEnv): MonitorEnv {
  return {
    result: env.MONITOR_SERVICE_RESULT,
    exitCode: env.MONITOR_EXIT_CODE,
    exitStatus: env.MONITOR_EXIT_STATUS,
  };
}

const NOT_RETRIED: ReadonlySet<string> = new Set([String(ExitCode.usage), String(ExitCode.incompatible)]);

export function stuckBootDecision(monitor: MonitorEnv): StuckBootDecision {
  const last =
    monitor.exitStatus === undefined
      ? ''
      : ` (last attempt: ${monitor.exitCode ?? 'exited'} with ${monitor.exitStatus})`;
  if (monitor.result === 'start-limit-hit') {
    return {
      replace: true,
      reason: `kboot boot failed on every start until its restart budget was spent${last}: marking this instance unhealthy so its Auto Scaling group replaces it`,
    };
  }
  if (
    monitor.result === 'exit-code' &&
    monitor.exitStatus !== undefined &&
    NOT_RETRIED.has(monitor.exitStatus)
  ) {
    return {
      replace: false,
      reason: `kboot boot failed with exit status ${monitor.exitStatus} (a bad config, tag or version: not retried), and a replacement would fail the same way: fix the input, then \`systemctl restart kboot-boot\``,
    };
  }
  if (monitor.result === undefined) {
    return {
      replace: false,
      reason:
        'kboot boot-failed runs from kboot-boot-failed.service (OnFailure= of kboot-boot.service), which sets MONITOR_SERVICE_RESULT; without it nothing is replaced',
    };
  }
  return {
    replace: false,
    reason: `kboot-boot.service failed (${monitor.result}${last}) without spending its restart budget: not replacing the instance`,
  };
}
