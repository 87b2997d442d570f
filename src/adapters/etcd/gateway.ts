/**
 * etcd's v3 JSON gateway (grpc-gateway, `/v3/*` since etcd 3.4) over HTTPS with the control
 * plane's client certificate: one POST with a JSON body, a timeout per attempt, the endpoints
 * tried in turn, a bounded number of rounds with backoff. Node's own https: the gateway needs
 * nothing a gRPC client would add, and the binary stays small.
 *
 * uint64 fields (member ids, the leader) come as JSON strings from grpc-gateway; `parseJson`
 * quotes any bare integer that does not fit a double before JSON.parse, so an id is never a JS
 * number.
 */

import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { ClusterTimeoutError, IncompatibleError, StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { InstanceFiles } from '../../domain/ports/files.js';
import { type BackoffPolicy, backoffDelayMs } from '../imds/backoff.js';

/** Where kubeadm writes what the API server uses to reach etcd (under the filesystem root). */
const ETCD_CLIENT_FILES = {
  caPath: '/etc/kubernetes/pki/etcd/ca.crt',
  certPath: '/etc/kubernetes/pki/apiserver-etcd-client.crt',
  keyPath: '/etc/kubernetes/pki/apiserver-etcd-client.key',
} as const;

export interface EtcdTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface GatewaySettings {
  /** Client URLs tried in turn (https://host:2379). */
  endpoints: readonly string[];
  tls: EtcdTls;
  logger: Logger;
  /** One HTTPS request. */
  attemptTimeoutMs: number;
  /** Rounds over every endpoint before giving up. */
  rounds: number;
  backoff: BackoffPolicy;
  sleepMs(ms: number, signal?: AbortSignal): Promise<void>;
}

/** An error etcd itself returned (grpc status in the body): retrying elsewhere does not help. */
export class EtcdApiError extends Error {
  constructor(
    readonly endpoint: string,
    readonly grpcCode: number | undefined,
    readonly etcdMessage: string,
  ) {
    super(`etcd at ${endpoint} answered: ${etcdMessage}`);
    this.name = 'EtcdApiError';
  }
}

/** grpc codes: NotFound = 5, FailedPrecondition = 9, Unavailable = 14. */
export const GRPC_NOT_FOUND = 5;

const BIG_INTEGER = /(":\s*)(-?\d{16,})(?=\s*[,}\]])/g;

export function parseJson(text: string): unknown {
  return JSON.parse(text.replace(BIG_INTEGER, '$1"$2"'));
}

/** Reads the CA and client certificate kubeadm wrote; a missing file is a clear error. */
export async function readEtcdTls(fs: InstanceFiles, files = ETCD_CLIENT_FILES): Promise<EtcdTls> {
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(fs.resolve(file));
    } catch (error) {
      throw new IncompatibleError(`cannot read ${file}, which kboot needs to reach etcd`, {
        cause: error,
        hint: 'run this on a control-plane member that has joined (kubeadm writes the etcd client certificate there)',
        details: { file },
      });
    }
  };
  // In order, so the first missing file is the one named.
  const ca = await read(files.caPath);
  const cert = await read(files.certPath);
  const key = await read(files.keyPath);
  return { ca, cert, key };
}

type Attempt = { ok: true; body: unknown } | { ok: false; error: Error; retryable: boolean };

/**
 * TLS failures (our certificate refused, theirs not trusted, a bad key): another endpoint with
 * the same certificates fails the same way, so they are not retried.
 */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);
const TLS_CODE_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'ERR_OSSL_'];

function isTlsFailure(code: string | undefined): boolean {
  if (code === undefined) return false;
  return TLS_CODES.has(code) || TLS_CODE_PREFIXES.some((prefix) => code.startsWith(prefix));
}

function post(
  settings: GatewaySettings,
  endpoint: string,
  route: string,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<Attempt> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(route, endpoint);
    } catch (error) {
      resolve({ ok: false, error: error as Error, retryable: false });
      return;
    }
    const req = request(
      url,
      {
        method: 'POST',
        ca: settings.tls.ca,
        cert: settings.tls.cert,
        key: settings.tls.key,
        headers: { 'content-type': 'application/json' },
        timeout: settings.attemptTimeoutMs,
        signal,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('error', (error) => resolve({ ok: false, error, retryable: true }));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text === '' ? {} : parseJson(text);
          } catch (error) {
            resolve({
              ok: false,
              error: new Error(`not JSON (HTTP ${res.statusCode})`, { cause: error }),
              retryable: true,
            });
            return;
          }
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
            resolve({ ok: true, body: parsed });
            return;
          }
          const fields = (parsed ?? {}) as { code?: unknown; message?: unknown; error?: unknown };
          const code = typeof fields.code === 'number' ? fields.code : undefined;
          const message = String(fields.message ?? fields.error ?? `HTTP ${res.statusCode}`);
          // Unavailable (14) and timeouts inside etcd: another member may do better.
          resolve({
            ok: false,
            error: new EtcdApiError(endpoint, code, message),
            retryable: code === 14 || code === 4,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${settings.attemptTimeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, error, retryable: !isTlsFailure(error.code) });
    });
    req.end(JSON.stringify(body));
  });
}

/**
 * POSTs `body` to `route` at the first endpoint that answers, in rounds; etcd's own errors are
 * thrown as EtcdApiError (callers map them), transport failures after the last round as
 * ClusterTimeoutError, TLS failures at once as IncompatibleError.
 */
export async function callGateway(
  settings: GatewaySettings,
  route: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  if (settings.endpoints.length === 0) {
    throw new StateConflictError('no etcd endpoint to talk to', {
      hint: 'set KBOOT_ETCD_ENDPOINTS, or run this on a control-plane member',
    });
  }
  const failures: string[] = [];
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const endpoint of settings.endpoints) {
      signal?.throwIfAborted();
      const attempt = await post(settings, endpoint, route, body, signal);
      if (attempt.ok) return attempt.body;
      signal?.throwIfAborted();
      if (attempt.error instanceof EtcdApiError && !attempt.retryable) throw attempt.error;
      if (!attempt.retryable) {
        throw new IncompatibleError(
          `etcd at ${endpoint} refused kboot's TLS connection: ${attempt.error.message}`,
          {
            cause: attempt.error,
            hint: 'check /etc/kubernetes/pki/etcd/ca.crt and apiserver-etcd-client.{crt,key} on this instance (kubeadm certs check-expiration)',
            details: { endpoint },
          },
        );
      }
      failures.push(`${endpoint}: ${attempt.error.message}`);
      settings.logger.debug(
        { endpoint, route, round, err: attempt.error },
        'etcd did not answer; trying the next endpoint',
      );
    }
    if (round < settings.rounds) {
      await settings.sleepMs(backoffDelayMs(round, settings.backoff, Math.random), signal);
    }
  }
  throw new ClusterTimeoutError(
    `etcd did not answer ${route} at any of ${settings.endpoints.join(', ')} (${settings.rounds} round(s))`,
    {
      hint: 'check that etcd runs on the control-plane members (crictl ps --name etcd) and that port 2379 is reachable; set KBOOT_ETCD_ENDPOINTS to reach it elsewhere',
      details: { route, failures: failures.slice(-settings.endpoints.length) },
    },
  );
}

/** One POST to one endpoint, no retry: is this member answering? */
export async function probeEndpoint(
  settings: GatewaySettings,
  endpoint: string,
  route: string,
  signal?: AbortSignal,
): Promise<{ ok: true; body: unknown } | { ok: false; reason: string }> {
  const attempt = await post(settings, endpoint, route, {}, signal);
  return attempt.ok ? attempt : { ok: false, reason: attempt.error.message };
}
