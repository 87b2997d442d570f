/**
 * The encoding side of etcd's Maintenance messages, for tests (a fake etcd and the decoder's
 * tests): written from the protobuf wire format, independent of src/adapters/etcd/protobuf.ts.
 */

import { createHash } from 'node:crypto';

export function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0n);
  return Buffer.from(bytes);
}

export const varintField = (field: number, value: bigint): Buffer =>
  Buffer.concat([varint(BigInt((field << 3) | 0)), varint(value)]);

export const lengthField = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(bytes.length)), bytes]);

function header(revision: bigint): Buffer {
  return Buffer.concat([
    varintField(1, 0xdeadbeefcafen),
    varintField(2, 2n ** 63n + 5n),
    varintField(3, revision),
    varintField(4, 9n),
  ]);
}

export function statusMessage(fields: { revision: bigint; version: string }): Buffer {
  return Buffer.concat([
    lengthField(1, header(fields.revision)),
    lengthField(2, Buffer.from(fields.version)),
    varintField(3, 4096n),
    varintField(4, 2n ** 63n + 5n),
  ]);
}

/** A snapshot as etcd streams it: `data` then its SHA-256 (when `trailer`), in `chunk`-byte messages. */
export function snapshotMessages(data: Buffer, chunk: number, options: { trailer: boolean }): Buffer[] {
  const whole = options.trailer ? Buffer.concat([data, createHash('sha256').update(data).digest()]) : data;
  const messages: Buffer[] = [];
  for (let at = 0; at < whole.length || messages.length === 0; at += chunk) {
    const blob = whole.subarray(at, at + chunk);
    const remaining = BigInt(Math.max(whole.length - at - blob.length, 0));
    messages.push(
      Buffer.concat([
        lengthField(1, header(1n)),
        varintField(2, remaining),
        lengthField(3, blob),
        lengthField(4, Buffer.from('3.6.0')),
      ]),
    );
  }
  return messages;
}
