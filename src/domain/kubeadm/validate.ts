/**
 * Checks on the renderer's inputs, so a bad value fails in kboot with the field named rather than
 * minutes later inside kubeadm. Messages quote non-secret values only; secrets are checked by
 * shape and never shown.
 */

import { isIP } from 'node:net';
import { ConfigError } from '../../core/errors.js';
import type { Secret } from '../../core/secrets.js';
import { CA_CERT_HASH_PATTERN } from './ca-hash.js';
import { BOOTSTRAP_TOKEN_PATTERN, CERTIFICATE_KEY_PATTERN } from './tokens.js';
import type { BootstrapTokenInput, KubeadmArg } from './types.js';
import { formatKubeVersion, tryParseKubeVersion } from './version.js';

const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A lowercase RFC 1123 subdomain, as Kubernetes requires of Node names. */
const RFC1123_SUBDOMAIN = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
/** Host names as they appear in endpoints and certificate SANs (any case, optional wildcard). */
const HOST_NAME =
  /^(?=.{1,253}$)(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const BOOTSTRAP_GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const ARG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USAGES = new Set(['signing', 'authentication']);

function invalid(field: string, problem: string, hint: string): ConfigError {
  return new ConfigError(`kubeadm config: ${field} ${problem}`, { hint, details: { field } });
}

export function checkNodeName(value: string, field: string): void {
  if (!RFC1123_SUBDOMAIN.test(value)) {
    throw invalid(
      field,
      `"${value}" is not a valid Node name (a lowercase RFC 1123 subdomain)`,
      "use the instance's private DNS name, e.g. ip-10-0-1-5.ec2.internal",
    );
  }
}

export function checkIpv4(value: string, field: string): void {
  if (isIP(value) !== 4) {
    throw invalid(field, `"${value}" is not an IPv4 address`, "use the instance's private IPv4 address");
  }
}

function isHost(host: string): boolean {
  if (host.startsWith('[') && host.endsWith(']')) return isIP(host.slice(1, -1)) === 6;
  return isIP(host) === 4 || (HOST_NAME.test(host) && !host.startsWith('*'));
}

/** `host:port` (DNS name, IPv4 or [IPv6]); returns the host. */
export function checkHostPort(value: string, field: string): string {
  const colon = value.lastIndexOf(':');
  const host = colon > 0 ? value.slice(0, colon) : '';
  const port = colon > 0 ? value.slice(colon + 1) : '';
  const portNumber = Number(port);
  if (!isHost(host) || !/^\d{1,5}$/.test(port) || portNumber < 1 || portNumber > 65_535) {
    throw invalid(
      field,
      `"${value}" is not host:port`,
      'give the API endpoint as host:port, e.g. the load balancer DNS name and 6443',
    );
  }
  return host;
}

export function checkPort(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw invalid(
      field,
      `${value} is not a TCP port`,
      'use a port from 1 to 65535 (the API server uses 6443)',
    );
  }
}

/** One CIDR, or a dual-stack pair separated by a comma, as kubeadm takes them. */
export function checkCidrs(value: string, field: string): void {
  const parts = value.split(',');
  const ok = parts.every((part) => {
    const [address, prefix, extra] = part.trim().split('/');
    if (address === undefined || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) {
      return false;
    }
    const family = isIP(address);
    return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
  });
  if (!ok || parts.length > 2) {
    throw invalid(field, `"${value}" is not a CIDR`, 'use a CIDR like 10.244.0.0/16');
  }
}

export function checkSan(value: string, field: string): void {
  if (isIP(value) === 0 && !HOST_NAME.test(value)) {
    throw invalid(
      field,
      `"${value}" is neither a DNS name nor an IP address`,
      'list DNS names or IP addresses',
    );
  }
}

/** Returns the version as kubeadm writes it: `v1.31.2`. */
export function normalizeKubernetesVersion(value: string, field: string): string {
  const version = tryParseKubeVersion(value);
  if (version === undefined || version.patch === undefined) {
    throw invalid(field, `"${value}" is not a Kubernetes version`, 'use a full version like v1.31.2');
  }
  return formatKubeVersion(version);
}

export function checkDurationMs(value: number, field: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw invalid(field, `must be a positive duration, got ${value}ms`, 'use a duration greater than zero');
  }
}

export function checkCaCertHashes(values: readonly string[], field: string): void {
  if (values.length === 0) {
    throw invalid(
      field,
      'is empty',
      "pin the cluster CA: sha256 of ca.crt's public key, as kboot computes it (never skip CA verification)",
    );
  }
  values.forEach((value, index) => {
    if (!CA_CERT_HASH_PATTERN.test(value)) {
      throw invalid(
        `${field}[${index}]`,
        `"${value.slice(0, 80)}" is not sha256:<64 hex digits>`,
        'use sha256:<hex> of the CA public key',
      );
    }
  });
}

export function checkBootstrapTokenSecret(token: Secret, field: string): void {
  if (!BOOTSTRAP_TOKEN_PATTERN.test(token.reveal())) {
    throw invalid(
      field,
      'is not a kubeadm bootstrap token',
      'a bootstrap token has the form [a-z0-9]{6}.[a-z0-9]{16}',
    );
  }
}

export function checkCertificateKeySecret(key: Secret, field: string): void {
  if (!CERTIFICATE_KEY_PATTERN.test(key.reveal())) {
    throw invalid(field, 'is not a kubeadm certificate key', 'a certificate key is 64 lowercase hex digits');
  }
}

export function checkBootstrapToken(token: BootstrapTokenInput, field: string): void {
  checkBootstrapTokenSecret(token.token, `${field}.token`);
  checkDurationMs(token.ttlMs, `${field}.ttl`);
  for (const usage of token.usages ?? []) {
    if (!USAGES.has(usage)) {
      throw invalid(
        `${field}.usages`,
        `has "${usage}"`,
        'bootstrap token usages are signing and authentication',
      );
    }
  }
  for (const group of token.groups ?? []) {
    if (!BOOTSTRAP_GROUP.test(group)) {
      throw invalid(
        `${field}.groups`,
        `has "${group}"`,
        'bootstrap token groups start with system:bootstrappers:',
      );
    }
  }
}

export function checkArgs(args: readonly KubeadmArg[], field: string): void {
  args.forEach((arg, index) => {
    if (!ARG_NAME.test(arg.name)) {
      throw invalid(
        `${field}[${index}].name`,
        `"${arg.name}" is not a flag name`,
        'give flag names without leading dashes',
      );
    }
  });
}

export function checkHttpsUrl(value: string, field: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    throw invalid(field, `"${value}" is not an https URL`, 'use the https URL of the OIDC issuer');
  }
}

export function checkAudiences(values: readonly string[], field: string): void {
  for (const value of values) {
    if (value === '' || value.includes(',')) {
      throw invalid(field, `has "${value}"`, 'list audiences one per entry, without commas');
    }
  }
}
