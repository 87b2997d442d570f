/**
 * A stand-in `Imds` for unit tests of code that reads instance metadata. Only the methods a test
 * sets up work; calling any other rejects with an error naming it, so a test never passes on a
 * default it did not choose. Every call is recorded in `calls`.
 */

import { InternalError } from '../../core/errors.js';
import type { Imds } from '../../domain/ports/imds.js';

export interface FakeImds extends Imds {
  readonly calls: { method: keyof Imds; args: unknown[] }[];
}

export function fakeImds(setup: Partial<Imds> = {}): FakeImds {
  const calls: FakeImds['calls'] = [];
  function method<K extends keyof Imds>(name: K): Imds[K] {
    const given = setup[name];
    return ((...args: unknown[]) => {
      calls.push({ method: name, args });
      if (given === undefined) {
        return Promise.reject(
          new InternalError(`fake IMDS: ${name}() was called but the test did not set it up`),
        );
      }
      return (given as (...a: unknown[]) => Promise<unknown>)(...args);
    }) as Imds[K];
  }
  return {
    calls,
    get: method('get'),
    instanceIdentity: method('instanceIdentity'),
    instanceTags: method('instanceTags'),
  };
}

/**
 * A `get` serving fixed paths (as the port takes them: "instance-id", "/latest/dynamic/...");
 * any other path is absent (undefined, as for a 404).
 */
export function metadataPaths(paths: Record<string, string>): Imds['get'] {
  return async (path) => (Object.hasOwn(paths, path) ? paths[path] : undefined);
}
