/**
 * EtcdSnapshotSource over etcd's gRPC Maintenance service (@grpc/grpc-js, HTTP/2 over TLS with
 * the control plane's client certificate): `Maintenance/Status` (the revision and version, just
 * before), then `Maintenance/Snapshot`, a server stream of 32 KiB blobs in binary protobuf.
 *
 * Why gRPC and not the JSON gateway kboot uses elsewhere: the gateway marshals every chunk to
 * JSON with its bytes in base64, which made the snapshot about 2× slower than `etcdctl snapshot
 * save` (docs/backup.md, "Measured"). Why not etcdctl/etcdutl: kubeadm's etcd runs from a
 * container image, and the AMI would need a binary of the same version on the host only for this.
 * This module (and grpc-js with it) loads only when `kboot etcd snapshot` streams.
 *
 * Backpressure: grpc-js asks HTTP/2 for the next message only when the stream is read, so etcd
 * is held back by flow control (a 1 MiB window) while the consumer (the S3 upload) is busy; the
 * snapshot is never held whole. A pause of `idleTimeoutMs` while waiting for etcd is a dead peer.
 */

import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import {
  type ChannelOptions,
  Client,
  type ClientReadableStream,
  credentials,
  status as grpcStatus,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { ClusterTimeoutError, IncompatibleError, StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { EtcdSnapshotSource, EtcdSnapshotStream } from '../../domain/backup/ports.js';
import type { EtcdTls } from './gateway.js';
import { decodeSnapshotResponse, decodeStatusResponse, ProtobufError } from './protobuf.js';
import { checkTrailer } from './snapshot-trailer.js';

const STATUS = '/etcdserverpb.Maintenance/Status';
const SNAPSHOT = '/etcdserverpb.Maintenance/Snapshot';

/** StatusRequest and SnapshotRequest have no fields: an empty message is zero bytes. */
const emptyRequest = (): Buffer => Buffer.alloc(0);
const raw = (bytes: Buffer): Buffer => bytes;

const CHANNEL_OPTIONS: ChannelOptions = {
  // How far etcd may run ahead of the upload: bounds what a paused stream holds in memory.
  'grpc-node.flow_control_window': 1024 * 1024,
  // etcd sends 32 KiB per message; a little room for a newer etcd's larger chunks.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.enable_retries': 0,
};

export interface GrpcSnapshotSettings {
  /** Client URLs tried in turn for the status (https://host:2379); the first that answers streams. */
  endpoints: readonly string[];
  tls: EtcdTls;
  logger: Logger;
  /** The status call, and the longest wait for the next chunk of the stream. */
  idleTimeoutMs: number;
}

function parseEndpoint(endpoint: string): { host: string; target: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new IncompatibleError(`${endpoint} is not an etcd client URL`, { cause: error });
  }
  if (url.protocol !== 'https:')
    throw new IncompatibleError(`${endpoint} is not an https:// etcd client URL`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, target: `${url.hostname}:${url.port === '' ? '2379' : url.port}` };
}

const isServiceError = (error: unknown): error is ServiceError =>
  error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';

/** TLS refusals (our certificate, theirs, a bad key): grpc-js reports them as UNAVAILABLE with the reason. */
const TLS_FAILURE = /certificate|ssl|tls|handshake|self[- ]signed|issuer/i;

function transportError(endpoint: string, error: unknown, what: string): Error {
  if (error instanceof ProtobufError) {
    return new StateConflictError(`etcd at ${endpoint} sent a message kboot cannot read: ${error.message}`, {
      cause: error,
    });
  }
  const details = isServiceError(error) ? error.details : String(error);
  if (isServiceError(error) && error.code === grpcStatus.UNAVAILABLE && TLS_FAILURE.test(details)) {
    return new IncompatibleError(`etcd at ${endpoint} refused kboot's TLS connection: ${details}`, {
      cause: error,
      hint: 'check /etc/kubernetes/pki/etcd/ca.crt and apiserver-etcd-client.{crt,key} on this instance (kubeadm certs check-expiration)',
      details: { endpoint },
    });
  }
  if (
    !isServiceError(error) ||
    error.code === grpcStatus.UNAVAILABLE ||
    error.code === grpcStatus.DEADLINE_EXCEEDED
  ) {
    return new ClusterTimeoutError(`could not ${what} etcd at ${endpoint}: ${details}`, {
      cause: error,
      hint: 'check that etcd runs on this member (crictl ps --name etcd)',
      details: { endpoint },
    });
  }
  return new StateConflictError(`etcd at ${endpoint} failed to ${what}: ${details}`, {
    cause: error,
    hint: 'check the etcd log on this member; the next run tries again',
    details: { endpoint, grpcCode: error.code },
  });
}

export class GrpcSnapshotSource implements EtcdSnapshotSource {
  readonly #settings: GrpcSnapshotSettings;

  constructor(settings: GrpcSnapshotSettings) {
    this.#settings = settings;
  }

  async open(signal: AbortSignal): Promise<EtcdSnapshotStream> {
    const { endpoints, logger } = this.#settings;
    if (endpoints.length === 0) throw new StateConflictError('no etcd endpoint to take a snapshot from');
    let last: Error | undefined;
    for (const endpoint of endpoints) {
      signal.throwIfAborted();
      const client = this.#client(endpoint);
      try {
        const status = await this.#status(client, endpoint, signal);
        return {
          revision: status.revision,
          etcdVersion: status.version,
          chunks: checkTrailer(this.#stream(client, endpoint, signal)),
        };
      } catch (error) {
        client.close();
        signal.throwIfAborted();
        if (!(error instanceof ClusterTimeoutError)) throw error;
        last = error;
        logger.debug({ endpoint, err: error }, 'etcd did not answer; trying the next endpoint');
      }
    }
    throw last as Error;
  }

  #client(endpoint: string): Client {
    const { tls } = this.#settings;
    const { host, target } = parseEndpoint(endpoint);
    if (isIP(host) === 0) {
      return new Client(target, credentials.createSsl(tls.ca, tls.key, tls.cert), CHANNEL_OPTIONS);
    }
    // Node refuses an IP address as the TLS server name (SNI), which grpc-js would send for
    // https://127.0.0.1:2379: the name sent is `localhost` (etcd ignores it), and the
    // certificate is still checked against the address itself (kubeadm's etcd certificate lists
    // 127.0.0.1 and the node's address).
    const verified = credentials.createSsl(tls.ca, tls.key, tls.cert, {
      checkServerIdentity: (_name, certificate) => checkServerIdentity(host, certificate),
    });
    return new Client(target, verified, { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': 'localhost' });
  }

  #status(
    client: Client,
    endpoint: string,
    signal: AbortSignal,
  ): Promise<{ revision: number; version: string }> {
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        STATUS,
        emptyRequest,
        raw,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: Date.now() + this.#settings.idleTimeoutMs },
        (error, response) => {
          signal.removeEventListener('abort', cancel);
          if (error !== null || response === undefined) {
            reject(signal.aborted ? signal.reason : transportError(endpoint, error, 'read the status of'));
            return;
          }
          let decoded: ReturnType<typeof decodeStatusResponse>;
          try {
            decoded = decodeStatusResponse(response);
          } catch (cause) {
            reject(transportError(endpoint, cause, 'read the status of'));
            return;
          }
          if (decoded.revision === undefined) {
            reject(
              new StateConflictError(`etcd at ${endpoint} answered Maintenance/Status without a revision`, {
                hint: 'check the etcd version on the control plane (kboot speaks etcd 3.4 and later)',
              }),
            );
            return;
          }
          resolve({ revision: decoded.revision, version: decoded.version ?? 'unknown' });
        },
      );
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /** The snapshot's blobs, read one message at a time (etcd waits while the consumer is busy). */
  async *#stream(client: Client, endpoint: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const { idleTimeoutMs } = this.#settings;
    const call: ClientReadableStream<Buffer> = client.makeServerStreamRequest(
      SNAPSHOT,
      emptyRequest,
      raw,
      Buffer.alloc(0),
      new Metadata(),
      {},
    );
    const cancel = () => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let timer: NodeJS.Timeout | undefined;
    let idle = false;
    try {
      for (;;) {
        // The timer runs only while kboot waits for etcd, never while the upload holds the stream.
        timer = setTimeout(() => {
          idle = true;
          call.cancel();
        }, idleTimeoutMs);
        let next: IteratorResult<Buffer>;
        try {
          next = await messages.next();
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (idle) {
            throw new ClusterTimeoutError(
              `etcd at ${endpoint} sent nothing for ${idleTimeoutMs} ms during the snapshot`,
              { hint: 'check that etcd runs on this member (crictl ps --name etcd)' },
            );
          }
          throw transportError(endpoint, error, 'stream a snapshot from');
        } finally {
          clearTimeout(timer);
        }
        if (next.done === true) return;
        let blob: Uint8Array;
        try {
          blob = decodeSnapshotResponse(next.value).blob;
        } catch (error) {
          throw transportError(endpoint, error, 'stream a snapshot from');
        }
        if (blob.length > 0) yield blob;
      }
    } finally {
      signal.removeEventListener('abort', cancel);
      call.cancel();
      client.close();
    }
  }
}
