/**
 * SHA-256 and size computed while the bytes flow through, chunk by chunk: the snapshot is never
 * held whole. The digest is read once the stream has been consumed to its end.
 */

import { createHash } from 'node:crypto';

export interface HashedStream {
  chunks: AsyncIterable<Uint8Array>;
  /** Throws until every chunk went through. */
  result(): { sha256: string; sizeBytes: number };
}

export function hashing(source: AsyncIterable<Uint8Array>): HashedStream {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let done: { sha256: string; sizeBytes: number } | undefined;
  async function* pass(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      hash.update(chunk);
      sizeBytes += chunk.byteLength;
      yield chunk;
    }
    done = { sha256: hash.digest('hex'), sizeBytes };
  }
  return {
    chunks: pass(),
    result() {
      if (done === undefined) throw new Error('the snapshot stream was not read to its end');
      return done;
    },
  };
}
