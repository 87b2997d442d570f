import { AwsClients } from '../../adapters/aws/clients.js';
import { describeImages } from '../../adapters/aws/ec2-images.js';
import { UsageError } from '../../core/errors.js';
import {
  type AmiQuery,
  describeQuery,
  imageFilters,
  imageVersions,
  newestFirst,
  parseTagFilter,
} from '../../domain/ami/query.js';
import type { CommandContext } from '../context.js';

export interface AmiOptions {
  tag?: string[];
  owner?: string;
  arch?: 'x86_64' | 'arm64';
  kubernetesVersion?: string;
  all?: boolean;
}

export async function ami(options: AmiOptions, ctx: CommandContext): Promise<void> {
  const query: AmiQuery = {
    tags: (options.tag ?? []).map(parseTagFilter),
    owners: options.owner === undefined ? [] : options.owner.split(','),
    arch: options.arch,
    kubernetesVersion: options.kubernetesVersion,
  };
  const filters = imageFilters(query);
  const aws = new AwsClients({
    region: ctx.region,
    logger: ctx.logger,
    traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS,
    env: ctx.env,
  });
  try {
    ctx.logger.debug({ filters, owners: query.owners }, 'looking up AMIs');
    const matches = newestFirst(await describeImages(await aws.ec2(), query.owners, filters), query.arch);
    const newest = matches[0];
    if (newest === undefined) {
      throw new UsageError(`no available AMI matches ${describeQuery(query)}`, {
        hint: 'check the filters and the region, or build an AMI with packer/ (it tags kboot.io/version)',
      });
    }
    const shown = options.all ? matches : [newest];
    if (ctx.output.format === 'json') {
      const rows = shown.map(({ id, name, creationDate, architecture, tags }) => ({
        id,
        name,
        creationDate,
        architecture,
        versions: imageVersions(tags),
        tags,
      }));
      ctx.output.json(options.all ? rows : rows[0]);
    } else if (options.all) {
      ctx.output.text(shown.map((image) => `${image.id}\t${image.creationDate}\t${image.name}`).join('\n'));
    } else {
      ctx.output.text(newest.id);
    }
  } finally {
    aws.destroy();
  }
}
