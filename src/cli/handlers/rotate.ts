/**
 * The edge of `kboot rotate`: flags parsed into the rotation policy, the same ports as the boot
 * flows (flow-deps.ts), the result printed (a line, the --dry-run plan, or --output json).
 */

import { parseDurationMs } from '../../core/duration.js';
import { type RotateOptions, type RotateResult, rotate } from '../../domain/flows/rotate.js';
import {
  DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_RENEW_BEFORE_MS,
  DEFAULT_TOKEN_TTL_MS,
} from '../../domain/flows/rotate-plan.js';
import { renderPlan, Steps } from '../../domain/flows/steps.js';
import type { CommandContext } from '../context.js';
import { type FlowEdgeOptions, flowSettings, loadNodeConfig, wireFlowDeps } from '../flow-deps.js';

export interface RotateCommandOptions extends FlowEdgeOptions {
  renewBefore?: string;
  tokenTtl?: string;
  certificateKeyRenewBefore?: string;
}

/** How long rotate waits for a joining master to finish before giving up on the certificate key. */
const DEFAULT_JOIN_WAIT = '15m';

export function rotateOptionsFrom(options: RotateCommandOptions): RotateOptions {
  const duration = (flag: string | undefined, defaultMs: number, what: string): number =>
    flag === undefined ? defaultMs : parseDurationMs(flag, what);
  return {
    tokenTtlMs: duration(options.tokenTtl, DEFAULT_TOKEN_TTL_MS, '--token-ttl'),
    tokenRenewBeforeMs: duration(options.renewBefore, DEFAULT_TOKEN_RENEW_BEFORE_MS, '--renew-before'),
    certificateKeyRenewBeforeMs: duration(
      options.certificateKeyRenewBefore,
      DEFAULT_CERTIFICATE_KEY_RENEW_BEFORE_MS,
      '--certificate-key-renew-before',
    ),
    joinWaitMs: parseDurationMs(options.waitTimeout ?? DEFAULT_JOIN_WAIT, '--wait-timeout'),
  };
}

export async function rotateCommand(options: RotateCommandOptions, ctx: CommandContext): Promise<void> {
  const rotateOptions = rotateOptionsFrom(options);
  const loaded = await loadNodeConfig(ctx, options.config);
  const settings = {
    ...flowSettings(options, loaded.config, ctx.env),
    waitTimeoutMs: rotateOptions.joinWaitMs,
    tokenTtlMs: rotateOptions.tokenTtlMs,
  };
  const { deps, close } = wireFlowDeps(ctx, 'rotate', loaded, settings);
  const steps = new Steps(deps.logger, ctx.clock, settings.dryRun);
  let result: RotateResult;
  try {
    result = await rotate(deps, steps, rotateOptions);
  } finally {
    close();
  }
  if (ctx.output.format === 'json') {
    ctx.output.json({
      ...result,
      ...(settings.dryRun ? { plan: steps.planned } : {}),
      steps: steps.timings,
    });
  } else if (settings.dryRun && steps.planned.length > 0) {
    ctx.output.text(renderPlan('rotate', steps.planned));
  } else {
    ctx.output.text(result.summary);
  }
}
