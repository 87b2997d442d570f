import { renderCompletionScript, type Shell } from '../completion/render.js';
import type { CommandContext } from '../context.js';
import type { WithArgs } from '../define.js';

export async function completion(options: WithArgs<object>, ctx: CommandContext): Promise<void> {
  ctx.output.text(renderCompletionScript(options.args[0] as Shell));
}
