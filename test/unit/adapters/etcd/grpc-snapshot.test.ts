/**
 * GrpcSnapshotSource against a fake etcd Maintenance service: a real grpc-js server over TLS with
 * client certificates (openssl-made), which streams what each test scripts. The real etcd is in
 * test/integration/etcd/snapshot.test.ts.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { GrpcSnapshotSource } from '../../../../src/adapters/etcd/grpc-snapshot.js';
import { ClusterTimeoutError, IncompatibleError, StateConflictError } from '../../../../src/core/errors.js';
import { tempDir } from '../../../support/paths.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { snapshotMessages, statusMessage } from './protobuf-encode.js';

const missing =
  spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0 ? undefined : 'no openssl';

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
}

/** A CA and a certificate it signs (EC P-256), as kubeadm's etcd PKI. */
function pki(dir: string, ca: string, name: string, ext: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

function newCa(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '1',
    '-out',
    `${name}.crt`,
  ]);
}

const raw = (bytes: Buffer): Buffer => bytes;
const method = (name: string, responseStream: boolean) => ({
  path: `/etcdserverpb.Maintenance/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});

type SnapshotHandler = (call: ServerWritableStream<Buffer, Buffer>) => void | Promise<void>;

describe('GrpcSnapshotSource (a fake etcd over gRPC with TLS)', { skip: missing }, () => {
  const dir = tempDir('kboot-grpc-');
  let server: Server;
  let endpoint = '';
  let snapshot: SnapshotHandler = (call) => {
    call.end();
  };
  let read = (file: string) => readFileSync(path.join(dir, file));

  before(async () => {
    newCa(dir, 'ca');
    newCa(dir, 'other-ca');
    pki(dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
    pki(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth');
    read = (file) => readFileSync(path.join(dir, file));
    server = new Server();
    server.addService(
      { Status: method('Status', false), Snapshot: method('Snapshot', true) },
      {
        Status: (_call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) =>
          done(null, statusMessage({ revision: 4242n, version: '3.5.21' })),
        Snapshot: (call: ServerWritableStream<Buffer, Buffer>) => void snapshot(call),
      },
    );
    const credentials = ServerCredentials.createSsl(
      read('ca.crt'),
      [{ private_key: read('server.key'), cert_chain: read('server.crt') }],
      true,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    endpoint = `https://127.0.0.1:${port}`;
  });

  after(() => {
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const source = (overrides: { ca?: string; endpoints?: string[]; idleTimeoutMs?: number } = {}) =>
    new GrpcSnapshotSource({
      endpoints: overrides.endpoints ?? [endpoint],
      tls: { ca: read(overrides.ca ?? 'ca.crt'), cert: read('client.crt'), key: read('client.key') },
      logger: silentLogger(),
      idleTimeoutMs: overrides.idleTimeoutMs ?? 5000,
    });

  async function drain(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
    const out: Uint8Array[] = [];
    for await (const chunk of chunks) out.push(Buffer.from(chunk));
    return Buffer.concat(out);
  }

  it('reads the revision, then every byte of the snapshot, its SHA-256 trailer checked', async () => {
    const data = randomBytes(300_000);
    const messages = snapshotMessages(data, 32 * 1024, { trailer: true });
    snapshot = (call) => {
      for (const message of messages) call.write(message);
      call.end();
    };
    const stream = await source().open(new AbortController().signal);
    assert.equal(stream.revision, 4242);
    assert.equal(stream.etcdVersion, '3.5.21');
    const got = await drain(stream.chunks);
    assert.deepEqual(got.subarray(0, data.length), data);
    assert.equal(got.length, data.length + 32);
  });

  it('tries the next endpoint when one does not answer', async () => {
    snapshot = (call) => {
      for (const message of snapshotMessages(Buffer.from('x'), 1024, { trailer: true })) call.write(message);
      call.end();
    };
    const stream = await source({ endpoints: ['https://127.0.0.1:1', endpoint] }).open(
      new AbortController().signal,
    );
    assert.equal((await drain(stream.chunks)).length, 33);
  });

  it('holds etcd back while the consumer is busy (flow control), and then reads the rest', async () => {
    const total = 1000; // 32 MB in 32 KiB messages
    const messages = snapshotMessages(randomBytes(32 * 1024 * 100), 32 * 1024, { trailer: true });
    let written = 0;
    let blocked: () => void = () => {};
    const serverBlocked = new Promise<void>((resolve) => {
      blocked = resolve;
    });
    snapshot = async (call) => {
      for (let i = 0; i < total; i += 1) {
        // The same 100 messages over and over: the consumer does not check the trailer here.
        const ok = call.write(messages[i % 100] as Buffer);
        written += 1;
        if (!ok) {
          blocked();
          await new Promise((resolve) => call.once('drain', resolve));
        }
      }
      call.end();
    };
    const stream = await source().open(new AbortController().signal);
    const iterator = stream.chunks[Symbol.asyncIterator]();
    await iterator.next();
    await serverBlocked;
    // Give an unthrottled stream time to run: 32 MB crosses loopback in far less than this.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(written < 200, `etcd ran ${written} of ${total} messages ahead of a paused consumer`);
    let read = 1;
    await assert.rejects(
      (async () => {
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return;
          read += 1;
        }
      })(),
      /SHA-256 trailer does not match/,
    );
    assert.equal(read, total);
  });

  it('a stream cut short is refused at its end (trailer), an etcd error names etcd', async () => {
    snapshot = (call) => {
      const messages = snapshotMessages(randomBytes(100_000), 32 * 1024, { trailer: true });
      for (const message of messages.slice(0, 2)) call.write(message);
      call.end();
    };
    await assert.rejects(
      drain((await source().open(new AbortController().signal)).chunks),
      StateConflictError,
    );
    snapshot = (call) => {
      call.write(snapshotMessages(randomBytes(1000), 32 * 1024, { trailer: false })[0] as Buffer);
      call.emit('error', { code: status.INTERNAL, details: 'etcdserver: snapshot failed' });
    };
    await assert.rejects(
      drain((await source().open(new AbortController().signal)).chunks),
      (error: unknown) =>
        error instanceof StateConflictError && /etcdserver: snapshot failed/.test(error.message),
    );
  });

  it('gives up when etcd sends nothing for the idle timeout', async () => {
    snapshot = (call) => {
      call.write(snapshotMessages(randomBytes(1000), 32 * 1024, { trailer: false })[0] as Buffer);
    };
    const stream = await source({ idleTimeoutMs: 300 }).open(new AbortController().signal);
    await assert.rejects(drain(stream.chunks), (error: unknown) => {
      assert.ok(error instanceof ClusterTimeoutError);
      assert.match(error.message, /sent nothing for 300 ms/);
      return true;
    });
  });

  it('stops at once when aborted (SIGTERM)', async () => {
    snapshot = (call) => {
      call.write(snapshotMessages(randomBytes(1000), 32 * 1024, { trailer: false })[0] as Buffer);
    };
    const abort = new AbortController();
    const stream = await source().open(abort.signal);
    const iterator = stream.chunks[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next();
    abort.abort(new Error('SIGTERM'));
    await assert.rejects(pending, /SIGTERM/);
  });

  it('says so when etcd is not signed by the CA kboot trusts', async () => {
    await assert.rejects(
      source({ ca: 'other-ca.crt' }).open(new AbortController().signal),
      (error: unknown) => {
        assert.ok(error instanceof IncompatibleError || error instanceof ClusterTimeoutError, String(error));
        assert.match((error as Error).message, /certificate|TLS/i);
        return true;
      },
    );
  });
});
