/**
 * Reads `kubeadm token list -o json`: one JSON object per token (kind BootstrapToken,
 * output.kubeadm.k8s.io/v1alpha3), one after another, not an array. kubeadm prints the whole
 * token there; this keeps only what is not secret: the id, expiry, usages, groups, description.
 */

import { KubeadmError } from '../../core/errors.js';
import { BOOTSTRAP_TOKEN_PATTERN } from './tokens.js';

export interface ListedToken {
  readonly id: string;
  /** Absent for a token that never expires. */
  readonly expiresAtMs: number | undefined;
  readonly usages: readonly string[];
  readonly groups: readonly string[];
  readonly description: string | undefined;
}

/** Splits concatenated JSON values (`{…}{…}` or one per line) into their texts. */
function splitJsonValues(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (depth === 0 && char !== '{' && char !== '[' && char !== undefined && char.trim() !== '') {
      throw new SyntaxError('text outside a JSON value');
    }
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0 && start >= 0) {
        values.push(text.slice(start, i + 1));
        start = -1;
      }
    }
  }
  if (depth !== 0) throw new SyntaxError('unbalanced JSON');
  return values;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export function parseTokenList(stdout: string): ListedToken[] {
  const fail = (why: string, cause?: unknown): KubeadmError =>
    new KubeadmError(`could not read "kubeadm token list -o json": ${why}`, {
      cause,
      hint: 'check the kubeadm binary on this image; its output format may have changed',
    });
  let texts: string[];
  try {
    texts = splitJsonValues(stdout);
  } catch (error) {
    throw fail('the output is not JSON', error);
  }
  const values: unknown[] = texts.flatMap((text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw fail('the output is not JSON', error);
    }
    return Array.isArray(value) ? value : [value];
  });
  return values.map((value, index) => {
    if (value === null || typeof value !== 'object') throw fail(`entry ${index + 1} is not an object`);
    const record = value as Record<string, unknown>;
    const token = typeof record.token === 'string' ? record.token : '';
    const match = BOOTSTRAP_TOKEN_PATTERN.exec(token);
    if (match === null) throw fail(`entry ${index + 1} has no well-formed token`);
    let expiresAtMs: number | undefined;
    if (typeof record.expires === 'string' && record.expires !== '') {
      expiresAtMs = Date.parse(record.expires);
      if (Number.isNaN(expiresAtMs)) throw fail(`entry ${index + 1} has an unreadable expiry`);
    }
    return {
      id: match[1] as string,
      expiresAtMs,
      usages: strings(record.usages),
      groups: strings(record.groups),
      description: typeof record.description === 'string' ? record.description : undefined,
    };
  });
}
