/**
 * Turns schema failures into one line naming each bad field and what it must be, without ever
 * quoting the value: the inputs here are secrets (tokens, keys, kubeconfigs), so a message built
 * from them could leak one into a log line or a terminal.
 */

import type { z } from 'zod';

/**
 * What each field must be, by top-level field name (`field[]` for the items of a list field);
 * zod's own (value-free) message otherwise.
 */
export type FieldExpectations = Readonly<Record<string, string>>;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(document)' : out;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** "token must be …; caCertHashes[1] is missing" — field names and expectations only. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  expectations: FieldExpectations = {},
): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const issue of issues) {
    const field = formatPath(issue.path);
    if (seen.has(field)) continue;
    seen.add(field);
    const top = issue.path[0];
    const itemOfList = typeof issue.path[1] === 'number';
    const expectation =
      typeof top !== 'string'
        ? undefined
        : ((itemOfList ? expectations[`${top}[]`] : undefined) ?? expectations[top]);
    const missing = issue.path.length > 0 && valueAt(raw, issue.path) === undefined;
    if (missing) parts.push(`${field} is missing`);
    else if (expectation !== undefined) parts.push(`${field} must be ${expectation}`);
    else parts.push(`${field}: ${issue.message.replace(/^Invalid input: /, '')}`);
  }
  return parts.join('; ');
}
