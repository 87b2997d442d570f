/**
 * What commands that run on an instance share: IMDS, the instance's identity, and AWS clients in
 * the instance's region (flag or env first, else the region IMDS reports). Everything is made on
 * first use, so a command pays only for what it touches.
 */

import { AwsClients } from '../adapters/aws/clients.js';
import { describeInstanceTags } from '../adapters/aws/ec2-tags.js';
import { createImds } from '../adapters/imds/create.js';
import type { ImdsTuning } from '../adapters/imds/http-imds.js';
import { DEFAULT_TABLE } from '../domain/config/defaults.js';
import { type Identity, resolveIdentity } from '../domain/identity/resolve.js';
import type { Imds } from '../domain/ports/imds.js';
import type { CommandContext } from './context.js';

export interface InstanceServices {
  imds: Imds;
  identity(): Promise<Identity>;
  /** AWS clients in the instance's region; resolves identity first when no region was given. */
  aws(): Promise<AwsClients>;
  /** AWS clients in a given region (one set per region, shared). */
  awsIn(region: string): AwsClients;
  /** The DynamoDB table: --table / KBOOT_TABLE, else the instance's table tag, else "kboot". */
  table(): Promise<string>;
  close(): void;
}

export function instanceServices(ctx: CommandContext, imdsTuning: ImdsTuning = {}): InstanceServices {
  const imds = createImds({
    env: ctx.env,
    logger: ctx.logger.child({ component: 'imds' }),
    clock: ctx.clock,
    signal: ctx.signal,
    ...imdsTuning,
  });
  let identity: Promise<Identity> | undefined;
  const clients = new Map<string, AwsClients>();
  const awsFor = (region: string): AwsClients => {
    let found = clients.get(region);
    if (found === undefined) {
      found = new AwsClients({
        region,
        logger: ctx.logger,
        traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS,
        env: ctx.env,
      });
      clients.set(region, found);
    }
    return found;
  };
  const services: InstanceServices = {
    imds,
    identity: () => {
      identity ??= resolveIdentity(
        imds,
        async (instanceId, region) =>
          describeInstanceTags(await awsFor(ctx.region ?? region).ec2(), instanceId),
        ctx.logger,
      );
      return identity;
    },
    aws: async () => awsFor(ctx.region ?? (await services.identity()).instance.region),
    awsIn: awsFor,
    table: async () => ctx.table ?? (await services.identity()).tableFromTag ?? DEFAULT_TABLE,
    close: () => {
      for (const client of clients.values()) client.destroy();
    },
  };
  return services;
}
