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

export const REDACTED = '[REDACTED]';

/** Field names whose values are secret wherever they appear (compared case-insensitively). */
export const SECRET_KEYS: readonly string[] = [
  'token',
  'bootstrapToken',
  'certificateKey',
  'certificate-key',
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

/** Value shapes that are secret wherever they appear. */
const SECRET_PATTERNS: readonly RegExp[] = [
  // PEM private keys of any kind.
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g,
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}
  /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
  // kubeadm certificate keys: 32 bytes hex.
  /(?<!sha256:)\b[a-f0-9]{64}\b/g,
  // kubeconfig embedded credentials and tokens (YAML or JSON forms).
  /((?:client-key-data|client-certificate-data|token|password)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
  // JWTs (service account tokens from `kubectl create token`): base64url header.payload.signature.
  /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g,
  // AWS secret keys and session tokens given inline.
  /((?:aws_secret_access_key|aws_session_token)\s*[=:]\s*)\S+/gi,
  // IMDS tokens in headers.
  /(x-aws-ec2-metadata-token:\s*)\S+/gi,
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

/** Deep copy of a value with secret keys hidden and secret-looking strings scrubbed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[…]';
  if (value instanceof Secret) return REDACTED;
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
