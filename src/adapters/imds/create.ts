/**
 * The IMDS a command uses, from its environment (settings.ts). Making it never fails and never
 * touches the network: a disabled or misconfigured IMDS fails on the first read, with a
 * ConfigError saying what to set, so commands that may not need IMDS can always make one.
 */

import type { Clock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Imds } from '../../domain/ports/imds.js';
import { HttpImds, type ImdsTuning } from './http-imds.js';
import { imdsDisabledError, imdsEndpointFromEnv } from './settings.js';

export interface CreateImdsOptions extends ImdsTuning {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  clock?: Clock;
  signal?: AbortSignal;
}

export function createImds(options: CreateImdsOptions): Imds {
  const { env, ...rest } = options;
  let setting: ReturnType<typeof imdsEndpointFromEnv>;
  try {
    setting = imdsEndpointFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return failingImds(() => error);
    throw error;
  }
  if (setting.disabled) {
    const value = setting.value;
    return failingImds((doing) => imdsDisabledError(value, doing));
  }
  return new HttpImds({ ...rest, endpoint: setting.endpoint });
}

function failingImds(error: (doing: string) => Error): Imds {
  return {
    get: (path) => Promise.reject(error(`reading instance metadata (${path})`)),
    instanceIdentity: () => Promise.reject(error('reading the instance identity (instance id, region, IP)')),
    instanceTags: () => Promise.reject(error('reading the instance tags')),
  };
}
