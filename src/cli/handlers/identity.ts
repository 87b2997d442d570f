import { DEFAULT_TABLE } from '../../domain/config/defaults.js';
import type { CommandContext } from '../context.js';
import { instanceServices } from '../instance.js';

/** `kboot identity`: who this instance is, as kboot sees it (IMDS and tags). */
export async function identity(_options: unknown, ctx: CommandContext): Promise<void> {
  const services = instanceServices(ctx);
  try {
    const found = await services.identity();
    const facts = {
      cluster: found.clusterName,
      role: found.role,
      instanceId: found.instance.instanceId,
      region: found.instance.region,
      availabilityZone: found.instance.availabilityZone,
      privateIpv4: found.instance.privateIpv4,
      table: ctx.table ?? found.tableFromTag ?? DEFAULT_TABLE,
      tagsSource: found.tagsSource,
    };
    if (ctx.output.format === 'json') ctx.output.json(facts);
    else
      ctx.output.text(
        Object.entries(facts)
          .map(([key, value]) => `${key.padEnd(17)} ${value}`)
          .join('\n'),
      );
  } finally {
    services.close();
  }
}
