/**
 * etcd ends every snapshot with the SHA-256 of the database before it (etcdctl and etcdutl check
 * it on restore): the last 32 bytes are held back a moment and compared, so a stream cut short is
 * an error here, before the upload completes, and never a truncated object in S3.
 */

import { createHash } from 'node:crypto';
import { StateConflictError } from '../../core/errors.js';

const TRAILER_BYTES = 32;

/** Hands on every byte, checking at the end that the last 32 are the SHA-256 of the rest. */
export async function* checkTrailer(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let tail: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const joined = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    const body = joined.length - TRAILER_BYTES;
    if (body > 0) hash.update(joined.subarray(0, body));
    // A copy: `chunk` may be a view into a buffer its producer reuses.
    tail = Uint8Array.prototype.slice.call(joined, Math.max(body, 0));
    yield chunk;
  }
  if (tail.length < TRAILER_BYTES || !hash.digest().equals(tail)) {
    throw new StateConflictError("etcd's snapshot stream ended early (its SHA-256 trailer does not match)", {
      hint: 'etcd may have restarted or the connection dropped; the next run tries again',
    });
  }
}
