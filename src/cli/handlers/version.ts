import { buildInfo } from '../../core/build-info.js';
import type { CommandContext } from '../context.js';

export async function version(_options: unknown, ctx: CommandContext): Promise<void> {
  const info = buildInfo();
  const facts = {
    version: info.version,
    commit: info.commit,
    node: process.version,
    buildDate: info.buildDate,
    arch: info.targetArch,
  };
  if (ctx.output.format === 'json') {
    ctx.output.json(facts);
    return;
  }
  ctx.output.text(
    Object.entries(facts)
      .map(([key, value]) => `${key.padEnd(10)} ${value}`)
      .join('\n'),
  );
}
