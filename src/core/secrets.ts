/**
 * The single place that defines what is secret in kboot, and how it is kept out of logs,
 * error messages and argv. Two layers:
 *  1. `Secret` wraps a secret value in the domain; it renders as "[REDACTED]" everywhere
 *     (toString, JSON, util.inspect), and only `reveal()` gives the value back.
 *  2. `redactText` scrubs what looks like a secret from any text that leaves the process
 *     (every log line and every error line pass through it), and `SECRET_KEYS` names the
 *     fields whose values are always hidden, whatever they hold.
 */

import { inspect } from 'node:util';
import { errorFields } from './error-fields.js';

export const REDACTED = '[REDACTED]';

/** Field names whose values are secret wherever they appear (compared case-insensitively). */
export const SECRET_KEYS: readonly string[] = [
  'token',
  'bootstrapToken',
  'certificateKey',
  'certificate-key',
  'encryptionKey',
  'privateKey',
  'client-key-data',
  'client-certificate-data',
  'password',
  'secret',
  'SecretString',
  'SecretBinary',
  'adminConf',
  'kubeconfig',
  'caKey',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'x-aws-ec2-metadata-token',
];

const secretKeySet = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));

export function isSecretKey(key: string): boolean {
  return secretKeySet.has(key.toLowerCase());
}

/**
 * A secret value after its key: up to the next space, quote, backslash, comma, semicolon or
 * closing brace, so the redaction of a value inside a JSON line never eats the line's own `"}`.
 */
const VALUE = String.raw`[^\s"'\\,;}]+`;
/** An optional quote after a key or before a value; `\"` inside a JSON string too. */
const QUOTE = String.raw`(?:\\?["'])?`;

/** Value shapes that are secret wherever they appear. */
const SECRET_PATTERNS: readonly RegExp[] = [
  // PEM private keys of any kind; one cut short (no END line) is hidden to the end of the text.
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g,
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16} (kubeadm accepts lower case only).
  /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
  // kubeadm certificate keys and other 32-byte keys in hex, either case (not a sha256: hash).
  /(?<!sha256:)\b[a-f0-9]{64}\b/gi,
  // kubeconfig embedded credentials, tokens and certificate keys (YAML, JSON or flag forms).
  new RegExp(
    String.raw`((?:client-key-data|client-certificate-data|token-secret|token|password|certificate-?key)${QUOTE}\s*[:=]\s*${QUOTE})${VALUE}`,
    'gi',
  ),
  new RegExp(
    String.raw`(--(?:token|discovery-token|tls-bootstrap-token|certificate-key)(?:=|\s+))${VALUE}`,
    'gi',
  ),
  // JWTs (service account tokens from `kubectl create token`): base64url header.payload.signature.
  /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g,
  // AWS secret keys and session tokens given inline.
  new RegExp(
    String.raw`((?:aws_secret_access_key|aws_session_token|secretAccessKey|sessionToken)${QUOTE}\s*[=:]\s*${QUOTE})${VALUE}`,
    'gi',
  ),
  // IMDS tokens and HTTP credentials in headers: `Authorization: Bearer <anything>`.
  new RegExp(
    String.raw`((?:x-aws-ec2-metadata-token|authorization)${QUOTE}\s*[:=]\s*${QUOTE}(?:[A-Za-z]+\s+)?)${VALUE}`,
    'gi',
  ),
  // A bearer token on its own: any token68 that is not a plain word ("a bearer token").
  /(\bbearer\s+)(?=[A-Za-z0-9._~+/-]*[0-9._~+/-])[A-Za-z0-9._~+/-]+=*/gi,
];

/** Scrubs every secret-looking run from text. Safe on any string, idempotent. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) && prefix.length < match.length
        ? `${prefix}${REDACTED}`
        : REDACTED,
    );
  }
  return out;
}

/**
 * Deep copy of a value with secret keys hidden and secret-looking strings scrubbed. An Error
 * becomes its fields (type, message, code, hint, cause chain), redacted like any other value.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[…]';
  if (value instanceof Secret) return REDACTED;
  if (value instanceof Error) return redactValue(errorFields(value), depth);
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] =
        isSecretKey(key) && v !== undefined && v !== null && v !== '' ? REDACTED : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * Redacts one JSON log line value by value (decoded, then encoded again), so the line stays valid
 * JSON whatever a pattern matches; text that is not one JSON object goes through redactText.
 */
export function redactJsonLine(line: string): string {
  const newline = line.endsWith('\n') ? '\n' : '';
  const body = newline === '' ? line : line.slice(0, -1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return redactText(line);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return redactText(line);
  return `${JSON.stringify(redactValue(parsed))}${newline}`;
}

/** A secret value. It cannot be printed, logged or serialized by accident. */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
