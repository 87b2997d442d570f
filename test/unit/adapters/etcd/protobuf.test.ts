import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeSnapshotResponse,
  decodeStatusResponse,
  ProtobufError,
} from '../../../../src/adapters/etcd/protobuf.js';
import { checkTrailer } from '../../../../src/adapters/etcd/snapshot-trailer.js';
import { StateConflictError } from '../../../../src/core/errors.js';
import { lengthField, snapshotMessages, statusMessage, varint, varintField } from './protobuf-encode.js';

describe('etcd protobuf: StatusResponse', () => {
  it('reads the header revision and the version, skipping every other field', () => {
    const decoded = decodeStatusResponse(statusMessage({ revision: 123_456_789n, version: '3.5.21' }));
    assert.deepEqual(decoded, { revision: 123_456_789, version: '3.5.21' });
  });

  it('skips unknown fields of every wire type (a newer etcd)', () => {
    const buffer = Buffer.concat([
      varint(BigInt((20 << 3) | 1)), // fixed64
      Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]),
      varint(BigInt((21 << 3) | 5)), // fixed32
      Buffer.from([1, 2, 3, 4]),
      statusMessage({ revision: 7n, version: '3.6.0' }),
      lengthField(22, Buffer.from('later')),
    ]);
    assert.deepEqual(decodeStatusResponse(buffer), { revision: 7, version: '3.6.0' });
  });

  it('has no revision when the header lacks one', () => {
    assert.deepEqual(decodeStatusResponse(Buffer.alloc(0)), { revision: undefined, version: undefined });
  });

  it('refuses a revision out of the safe range, a truncated field, a wrong wire type', () => {
    for (const bad of [
      statusMessage({ revision: 2n ** 60n, version: 'x' }),
      statusMessage({ revision: 2n ** 64n - 1n, version: 'x' }),
      statusMessage({ revision: 5n, version: 'x' }).subarray(0, 3),
      varintField(2, 5n),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      Buffer.from([(3 << 3) | 3]),
      Buffer.from([0]),
    ]) {
      assert.throws(() => decodeStatusResponse(bad), ProtobufError, bad.toString('hex'));
    }
  });

  it('reads any revision in range, whatever else surrounds it', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, BigInt(Number.MAX_SAFE_INTEGER)), fc.string(), (revision, version) => {
        assert.deepEqual(decodeStatusResponse(statusMessage({ revision, version })), {
          revision: Number(revision),
          version,
        });
      }),
    );
  });
});

describe('etcd protobuf: SnapshotResponse', () => {
  it('reads the blob as a view and the remaining bytes', () => {
    const data = Buffer.from('etcd bolt pages');
    const [message] = snapshotMessages(data, 1024, { trailer: false });
    const decoded = decodeSnapshotResponse(message as Buffer);
    assert.equal(Buffer.from(decoded.blob).toString(), 'etcd bolt pages');
    assert.equal(decoded.remainingBytes, 0n);
    assert.equal(decoded.blob.buffer, (message as Buffer).buffer);
  });

  it('an empty message is an empty blob; a blob longer than the message is refused', () => {
    assert.equal(decodeSnapshotResponse(Buffer.alloc(0)).blob.length, 0);
    const cut = Buffer.concat([Buffer.from([(3 << 3) | 2]), varint(100n), Buffer.alloc(10)]);
    assert.throws(() => decodeSnapshotResponse(cut), /runs past the end/);
  });
});

describe('the SHA-256 trailer of a snapshot stream', () => {
  async function collect(chunks: Uint8Array[]): Promise<Buffer> {
    async function* source() {
      yield* chunks;
    }
    const out: Uint8Array[] = [];
    for await (const chunk of checkTrailer(source())) out.push(chunk);
    return Buffer.concat(out);
  }

  it('passes every byte on when the trailer matches, however the stream is cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 10 }),
        async (body, sizes) => {
          const whole = Buffer.concat(
            snapshotMessages(Buffer.from(body), 1 << 20, { trailer: true }).map(
              (m) => decodeSnapshotResponse(m).blob,
            ),
          );
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < whole.length; i += 1) {
            const size = sizes[i % sizes.length] as number;
            chunks.push(whole.subarray(at, at + size));
            at += size;
          }
          assert.deepEqual(await collect(chunks), whole);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses a stream cut short or altered, at its end', async () => {
    const whole = Buffer.concat(
      snapshotMessages(Buffer.alloc(1000, 7), 1 << 20, { trailer: true }).map(
        (m) => decodeSnapshotResponse(m).blob,
      ),
    );
    for (const bad of [whole.subarray(0, whole.length - 1), whole.subarray(0, 20), Buffer.alloc(0)]) {
      await assert.rejects(collect([bad]), StateConflictError);
    }
    const altered = Buffer.from(whole);
    altered[3] = (altered[3] as number) ^ 1;
    await assert.rejects(collect([altered]), /SHA-256 trailer does not match/);
  });
});
