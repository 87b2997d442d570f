/**
 * The edge of `kboot rotate`: flags parsed into the rotation policy, the same ports as the boot
 * flows (flow-deps.ts), the result printed (a line, the --dry-run plan, or --output json).
 */

import { parseDurationMs } from '../../core/duration.js';
import { boundsOf, type DurationField, envMs } from '../../domain/config/durations.js';
import type { RotateOptions } from '../../domain/flows/rotate/rotation.js';
import {
  DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_TTL_MS,
} from '../../domain/flows/rotate-plan.js';
import type { CommandContext } from '../context.js';
import { COMMAND_DEFAULTS } from '../defaults.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';
import { runFlowCommand, runSettings, UNDO_BUDGET_MS } from '../run-flow.js';

export interface RotateCommandOptions extends FlowEdgeOptions {
  renewBefore?: string;
  tokenTtl?: string;
  certificateKeyRenewBefore?: string;
}

export function rotateOptionsFrom(options: RotateCommandOptions): RotateOptions {
  const duration = (flag: string | undefined, defaultMs: number, what: DurationField): number =>
    flag === undefined ? defaultMs : parseDurationMs(flag, what, boundsOf(what));
  return {
    tokenTtlMs: duration(options.tokenTtl, DEFAULT_TOKEN_TTL_MS, '--token-ttl'),
    tokenRenewBeforeMs: duration(options.renewBefore, DEFAULT_TOKEN_RENEW_BEFORE_MS, '--renew-before'),
    certificateKeyRenewBeforeMs: duration(
      options.certificateKeyRenewBefore,
      DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
      '--certificate-key-renew-before',
    ),
    joinWaitMs: parseDurationMs(
      options.waitTimeout ?? COMMAND_DEFAULTS.rotate.waitTimeout,
      '--wait-timeout',
      boundsOf('--wait-timeout'),
    ),
  };
}

export async function rotateCommand(options: RotateCommandOptions, ctx: CommandContext): Promise<void> {
  const staticPodWaitMs = envMs(ctx.env, 'KBOOT_STATIC_POD_WAIT_MS');
  const apiHealthTimeoutMs = envMs(ctx.env, 'KBOOT_API_HEALTH_TIMEOUT_MS');
  const rotateOptions = {
    ...rotateOptionsFrom(options),
    ...(staticPodWaitMs === undefined ? {} : { staticPodWaitMs }),
    ...(apiHealthTimeoutMs === undefined ? {} : { apiHealthTimeoutMs }),
  };
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = {
    ...flowSettings(options, loaded.config, ctx.env),
    waitTimeoutMs: rotateOptions.joinWaitMs,
    tokenTtlMs: rotateOptions.tokenTtlMs,
  };
  const { deps, close } = wireFlowDeps(ctx, 'rotate', loaded, settings);
  try {
    const [{ runFlow }, { rotateFlow }] = await Promise.all([
      import('../../domain/steps/runner.js'),
      import('../../domain/flows/rotate/flow.js'),
    ]);
    await runFlowCommand(
      ctx,
      { flow: 'rotate', dryRun: settings.dryRun, summaryWhenNothingPlanned: true },
      () =>
        runFlow(
          rotateFlow,
          deps,
          runSettings({ ...ctx, logger: deps.logger }, settings.dryRun, UNDO_BUDGET_MS.rotate),
          { options: rotateOptions },
        ),
    );
  } finally {
    close();
  }
}
