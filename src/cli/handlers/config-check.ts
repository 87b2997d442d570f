import { FsRoot } from '../../adapters/fs/root.js';
import { durationLimits } from '../../domain/config/durations.js';
import { parseNodeConfig } from '../../domain/config/node-config.js';
import type { CommandContext } from '../context.js';

export async function configCheck(options: { config: string }, ctx: CommandContext): Promise<void> {
  const fs = new FsRoot(ctx.root);
  const text = await fs.readText(options.config);
  if (text === undefined) {
    ctx.output.text(`${options.config}: absent (optional; defaults, tags and discovery apply)`);
    return;
  }
  const config = parseNodeConfig(text, options.config, durationLimits(ctx.env));
  if (ctx.output.format === 'json') ctx.output.json({ file: options.config, valid: true, config });
  else ctx.output.text(`${options.config}: valid (${Object.keys(config).length} top-level fields set)`);
}
