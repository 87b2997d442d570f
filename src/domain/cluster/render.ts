/**
 * What `kboot cluster plan|create|destroy` print on stdout as text (JSON prints the result
 * objects as they are). Pure: results in, text out.
 */

import type { CreateResult, DestroyResult, Plan, PlanAction } from './engine-types.js';

const PLAN_MARK: Record<PlanAction, string> = { create: '+', adopt: '=', drift: '~', 'no-change': ' ' };

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function renderPlan(plan: Plan, options: { dryRunOf?: 'create' } = {}): string {
  const lines: string[] = [];
  const width = Math.max(...plan.entries.map((e) => e.key.length), 10) + 2;
  const kindWidth = Math.max(...plan.entries.map((e) => e.kind.length), 4) + 2;
  const header = options.dryRunOf === 'create' ? 'create --dry-run' : 'plan';
  lines.push(`cluster "${plan.cluster}" (region ${plan.region}, table ${plan.table}): ${header}`);
  for (const entry of plan.entries) {
    let note = '';
    if (entry.action === 'create') note = 'create';
    else if (entry.action === 'adopt') {
      note =
        entry.adopted === true
          ? `use existing ${entry.id} (not made by kboot: never deleted)`
          : `record ${entry.id} (made by an earlier run)`;
    } else if (entry.action === 'drift') {
      note = `drift in ${entry.id}: ${(entry.drift ?? []).map((d) => `${d.field}: want ${d.want}, have ${d.have}`).join('; ')}`;
    } else note = `no change (${entry.id})`;
    lines.push(`  ${PLAN_MARK[entry.action]} ${pad(entry.key, width)}${pad(entry.kind, kindWidth)}${note}`);
  }
  const s = plan.summary;
  lines.push(
    `${s.create} to create, ${s.adopt} to record as found, ${s.drift} drifted, ${s['no-change']} unchanged`,
  );
  if (s.drift > 0) {
    lines.push(
      'create updates drifted launch templates, Auto Scaling groups, role policies and security group rules in place; it reports other drift with what to do',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderCreate(result: CreateResult): string {
  const counts = new Map<string, number>();
  for (const entry of result.entries) counts.set(entry.outcome, (counts.get(entry.outcome) ?? 0) + 1);
  const summary = [...counts.entries()].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
  const lines = [`cluster "${result.cluster}" (table ${result.table}): ${summary}`];
  const endpoint = result.outputs['cluster-record']?.apiEndpoint;
  if (endpoint !== undefined) lines.push(`API endpoint: ${endpoint}`);
  return `${lines.join('\n')}\n`;
}

export function renderDestroy(result: DestroyResult): string {
  const lines: string[] = [];
  if (result.entries.length === 0) {
    return `cluster "${result.cluster}": nothing recorded in table ${result.table}, nothing to destroy\n`;
  }
  lines.push(
    `cluster "${result.cluster}" (table ${result.table}): ${result.dryRun ? 'destroy --dry-run' : 'destroy'}`,
  );
  const width = Math.max(...result.entries.map((e) => e.key.length), 10) + 2;
  for (const entry of result.entries) {
    lines.push(
      `  ${pad(entry.key, width)}${pad(entry.outcome, 14)}${entry.id}${entry.reason === undefined ? '' : ` (${entry.reason})`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
