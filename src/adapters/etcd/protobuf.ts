/**
 * The few protobuf messages of etcd's Maintenance service that `kboot etcd snapshot` reads,
 * decoded by hand (etcd's api/etcdserverpb/rpc.proto; field numbers below):
 *
 *   ResponseHeader   { uint64 cluster_id = 1; uint64 member_id = 2; int64 revision = 3; uint64 raft_term = 4; }
 *   StatusResponse   { ResponseHeader header = 1; string version = 2; int64 dbSize = 3; ... }
 *   SnapshotResponse { ResponseHeader header = 1; uint64 remaining_bytes = 2; bytes blob = 3; string version = 4; }
 *
 * Both requests (StatusRequest, SnapshotRequest) are empty messages: zero bytes. Fields kboot
 * does not read are skipped by their wire type, so a newer etcd that adds fields still decodes.
 * A blob is a view into the received buffer, never a copy.
 */

export class ProtobufError extends Error {
  constructor(message: string) {
    super(`malformed protobuf from etcd: ${message}`);
    this.name = 'ProtobufError';
  }
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Reader {
  #offset = 0;

  constructor(readonly buffer: Uint8Array) {}

  get done(): boolean {
    return this.#offset >= this.buffer.length;
  }

  /** A varint as a bigint (uint64 and int64 alike: 10 bytes at most). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#offset >= this.buffer.length) throw new ProtobufError('a varint runs past the end');
      const byte = this.buffer[this.#offset] as number;
      this.#offset += 1;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new ProtobufError('a varint is longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const length = this.varint();
    const end = BigInt(this.#offset) + length;
    if (end > BigInt(this.buffer.length)) throw new ProtobufError('a field runs past the end');
    const view = this.buffer.subarray(this.#offset, Number(end));
    this.#offset = Number(end);
    return view;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED64 || wireType === FIXED32) {
      const width = wireType === FIXED64 ? 8 : 4;
      if (this.#offset + width > this.buffer.length)
        throw new ProtobufError('a fixed field runs past the end');
      this.#offset += width;
    } else throw new ProtobufError(`unknown wire type ${wireType}`);
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wireType: number } {
    const key = this.varint();
    const field = Number(key >> 3n);
    if (field === 0) throw new ProtobufError('field number 0');
    return { field, wireType: Number(key & 7n) };
  }
}

function expect(wireType: number, wanted: number, field: string): void {
  if (wireType !== wanted) throw new ProtobufError(`${field} has wire type ${wireType}, not ${wanted}`);
}

/** An int64 as a JS number: etcd revisions stay far below 2^53. */
function safeNumber(value: bigint, field: string): number {
  const signed = BigInt.asIntN(64, value);
  if (signed < 0n || signed > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ProtobufError(`${field} ${signed} is out of range`);
  return Number(signed);
}

export interface ResponseHeader {
  revision: number | undefined;
}

function decodeHeader(buffer: Uint8Array): ResponseHeader {
  const reader = new Reader(buffer);
  let revision: number | undefined;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 3) {
      expect(wireType, VARINT, 'header.revision');
      revision = safeNumber(reader.varint(), 'header.revision');
    } else reader.skip(wireType);
  }
  return { revision };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface StatusResponse {
  revision: number | undefined;
  version: string | undefined;
}

export function decodeStatusResponse(buffer: Uint8Array): StatusResponse {
  const reader = new Reader(buffer);
  let header: ResponseHeader = { revision: undefined };
  let version: string | undefined;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      expect(wireType, LENGTH_DELIMITED, 'header');
      header = decodeHeader(reader.bytes());
    } else if (field === 2) {
      expect(wireType, LENGTH_DELIMITED, 'version');
      try {
        version = utf8.decode(reader.bytes());
      } catch {
        throw new ProtobufError('version is not UTF-8');
      }
    } else reader.skip(wireType);
  }
  return { revision: header.revision, version };
}

export interface SnapshotResponse {
  /** Bytes of the snapshot still to come after this message (etcd's estimate; not relied on). */
  remainingBytes: bigint;
  /** This message's part of the snapshot (a view into the message). */
  blob: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

export function decodeSnapshotResponse(buffer: Uint8Array): SnapshotResponse {
  const reader = new Reader(buffer);
  let remainingBytes = 0n;
  let blob = EMPTY;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 2) {
      expect(wireType, VARINT, 'remaining_bytes');
      remainingBytes = reader.varint();
    } else if (field === 3) {
      expect(wireType, LENGTH_DELIMITED, 'blob');
      blob = reader.bytes();
    } else reader.skip(wireType);
  }
  return { remainingBytes, blob };
}
