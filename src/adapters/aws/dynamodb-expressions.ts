/**
 * Condition and update expressions built from named clauses with #name and :value placeholders,
 * so each rule reads as a word (`ownedBy(owner)`, `expiredAt(nowMs)`) and combining clauses
 * merges their placeholders (a placeholder reused with a different meaning is a bug: it throws).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

export interface Expression {
  text: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

export function expression(
  text: string,
  names: Record<string, string> = {},
  values: Record<string, unknown> = {},
): Expression {
  return { text, names, values };
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (key in target && JSON.stringify(target[key]) !== JSON.stringify(value)) {
      throw new Error(`expression placeholder ${key} is used with two meanings`);
    }
    target[key] = value;
  }
}

function join(operator: 'AND' | 'OR', parts: readonly Expression[]): Expression {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const part of parts) {
    mergeInto(names, part.names);
    mergeInto(values, part.values);
  }
  const text =
    parts.length === 1 ? (parts[0]?.text ?? '') : parts.map((p) => `(${p.text})`).join(` ${operator} `);
  return { text, names, values };
}

export const allOf = (...parts: Expression[]): Expression => join('AND', parts);
export const anyOf = (...parts: Expression[]): Expression => join('OR', parts);

export interface ExpressionParams {
  ConditionExpression?: string;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/** The request fields for a condition and, optionally, an update expression. */
export function expressionParams(parts: { condition?: Expression; update?: Expression }): ExpressionParams {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const part of [parts.condition, parts.update]) {
    if (part === undefined) continue;
    mergeInto(names, part.names);
    mergeInto(values, part.values);
  }
  const out: ExpressionParams = {};
  if (parts.condition !== undefined) out.ConditionExpression = parts.condition.text;
  if (parts.update !== undefined) out.UpdateExpression = parts.update.text;
  if (Object.keys(names).length > 0) out.ExpressionAttributeNames = names;
  if (Object.keys(values).length > 0) {
    out.ExpressionAttributeValues = marshall(values, { removeUndefinedValues: true });
  }
  return out;
}

/** An update expression from SET and REMOVE clauses. */
export function update(parts: { set?: Expression[]; remove?: Expression[] }): Expression {
  const set = join('AND', parts.set ?? []);
  const remove = join('AND', parts.remove ?? []);
  const text = [
    (parts.set ?? []).length > 0 ? `SET ${(parts.set ?? []).map((p) => p.text).join(', ')}` : '',
    (parts.remove ?? []).length > 0 ? `REMOVE ${(parts.remove ?? []).map((p) => p.text).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const part of [set, remove]) {
    mergeInto(names, part.names);
    mergeInto(values, part.values);
  }
  return { text, names, values };
}
