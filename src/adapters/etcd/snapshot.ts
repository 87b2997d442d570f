/**
 * EtcdSnapshotSource over etcd's v3 JSON gateway: `POST /v3/maintenance/status` (the revision
 * and version, just before), then `POST /v3/maintenance/snapshot`, a server stream that the
 * gateway sends as newline-delimited JSON, one `{"result":{"blob":"<base64>"}}` per 32 KiB chunk
 * (an `{"error":{...}}` line if etcd fails half-way). Each line is decoded as it arrives and
 * handed on; the socket is paused while the consumer (the S3 upload) is busy, so the snapshot is
 * never held whole.
 *
 * Why the gateway and not etcdctl/etcdutl: kubeadm's etcd runs from a container image, and the
 * AMI would need an etcdctl of the same version on the host only for this; the gateway is
 * already how kboot reaches etcd (cleanup, leave), with the same client certificate.
 *
 * etcd ends every snapshot with the SHA-256 of the database before it (etcdctl checks it on
 * restore): the last 32 bytes are held back a moment and compared, so a stream cut short is an
 * error here, before the upload completes, and never a truncated object in S3.
 */

import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { z } from 'zod';
import { ClusterTimeoutError, StateConflictError } from '../../core/errors.js';
import type { EtcdSnapshotSource, EtcdSnapshotStream } from '../../domain/backup/ports.js';
import { callGateway, type GatewaySettings } from './gateway.js';

const statusShape = z.object({
  header: z.object({ revision: z.string().regex(/^\d+$/).optional() }).optional(),
  version: z.string().optional(),
});

const lineShape = z.union([
  z.object({ result: z.object({ blob: z.string().optional() }) }),
  z.object({ error: z.object({ message: z.string().optional(), grpc_code: z.number().optional() }) }),
]);

const TRAILER_BYTES = 32;

/** Hands on every byte, checking at the end that the last 32 are the SHA-256 of the rest. */
async function* checkTrailer(chunks: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let tail = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const joined = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    const body = joined.length - TRAILER_BYTES;
    if (body > 0) hash.update(joined.subarray(0, body));
    tail = Buffer.from(joined.subarray(Math.max(body, 0)));
    yield chunk;
  }
  if (tail.length < TRAILER_BYTES || !hash.digest().equals(tail)) {
    throw new StateConflictError("etcd's snapshot stream ended early (its SHA-256 trailer does not match)", {
      hint: 'etcd may have restarted or the connection dropped; the next run tries again',
    });
  }
}

export class GatewaySnapshotSource implements EtcdSnapshotSource {
  readonly #settings: GatewaySettings;

  constructor(settings: GatewaySettings) {
    this.#settings = settings;
  }

  async open(signal: AbortSignal): Promise<EtcdSnapshotStream> {
    const status = statusShape.safeParse(
      await callGateway(this.#settings, '/v3/maintenance/status', {}, signal),
    );
    const revision = status.success ? status.data.header?.revision : undefined;
    if (revision === undefined) {
      throw new StateConflictError('etcd answered /v3/maintenance/status without a revision', {
        hint: 'check the etcd version on the control plane (kboot speaks the v3 gateway of etcd 3.4 and later)',
      });
    }
    const endpoint = this.#settings.endpoints[0];
    if (endpoint === undefined) throw new StateConflictError('no etcd endpoint to take a snapshot from');
    const lines = await this.#stream(endpoint, signal);
    return {
      revision: Number(revision),
      etcdVersion: (status.success ? status.data.version : undefined) ?? 'unknown',
      chunks: checkTrailer(decode(lines, endpoint)),
    };
  }

  /** The snapshot response's lines, once etcd answered 200. */
  #stream(endpoint: string, signal: AbortSignal): Promise<AsyncIterable<string>> {
    const { tls, attemptTimeoutMs } = this.#settings;
    return new Promise((resolve, reject) => {
      const req = request(new URL('/v3/maintenance/snapshot', endpoint), {
        method: 'POST',
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: { 'content-type': 'application/json' },
        // Between two chunks: etcd sends them back to back, so a pause this long is a dead peer.
        timeout: attemptTimeoutMs,
        signal,
      });
      req.on('timeout', () => req.destroy(new Error(`etcd sent nothing for ${attemptTimeoutMs} ms`)));
      req.on('error', (error) =>
        reject(
          new ClusterTimeoutError(`could not stream a snapshot from etcd at ${endpoint}: ${error.message}`, {
            cause: error,
            hint: 'check that etcd runs on this member (crictl ps --name etcd)',
          }),
        ),
      );
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < 2000) text += chunk;
          });
          res.on('end', () =>
            reject(
              new StateConflictError(
                `etcd at ${endpoint} refused the snapshot (HTTP ${res.statusCode}): ${text.slice(0, 300)}`,
              ),
            ),
          );
          return;
        }
        res.setEncoding('utf8');
        resolve(splitLines(res));
      });
      req.end('{}');
    });
  }
}

/** Lines of a response read on demand (the socket waits while the consumer is busy). */
async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let partial = '';
  for await (const chunk of chunks) {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    yield* parts;
  }
  if (partial !== '') yield partial;
}

async function* decode(lines: AsyncIterable<string>, endpoint: string): AsyncGenerator<Buffer> {
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let parsed: z.infer<typeof lineShape>;
    try {
      parsed = lineShape.parse(JSON.parse(line));
    } catch (error) {
      throw new StateConflictError(`etcd at ${endpoint} sent a snapshot line kboot cannot read`, {
        cause: error,
      });
    }
    if ('error' in parsed) {
      throw new StateConflictError(
        `etcd at ${endpoint} failed the snapshot: ${parsed.error.message ?? 'no message'}`,
        {
          hint: 'check the etcd log on this member; the next run tries again',
        },
      );
    }
    if (parsed.result.blob !== undefined && parsed.result.blob !== '')
      yield Buffer.from(parsed.result.blob, 'base64');
  }
}
