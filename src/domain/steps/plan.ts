/** The --dry-run plan as text: the change steps in order, then the files they would write. */

import type { PlannedStep } from './step.js';

export function renderPlan(flow: string, planned: readonly PlannedStep[]): string {
  if (planned.length === 0) return `kboot ${flow} would change nothing\n`;
  const lines = [`kboot ${flow} would:`];
  planned.forEach((change, index) => {
    lines.push(`  ${index + 1}. ${change.description}`);
  });
  for (const change of planned) {
    for (const file of change.files ?? []) {
      lines.push('', `--- ${file.path} (mode 0600)`, file.content.trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}
