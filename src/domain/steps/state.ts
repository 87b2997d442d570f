/**
 * What a flow's steps learn, shared along the list: a step `set`s values, later steps `get` them.
 * `get` of a value no earlier step set is a bug in the flow's list (an InternalError naming the
 * key), never an `undefined` that travels on.
 */

import { InternalError } from '../../core/errors.js';

export class FlowState<T extends object> {
  readonly #values: Partial<T>;

  constructor(initial: Partial<T> = {}) {
    this.#values = { ...initial };
  }

  get<K extends keyof T>(key: K): T[K] {
    if (!(key in this.#values)) {
      throw new InternalError(`a flow step needs "${String(key)}", which no earlier step set`, {
        hint: 'report this as a bug',
      });
    }
    return this.#values[key] as T[K];
  }

  /** The value, or undefined when no step set it (yet). */
  peek<K extends keyof T>(key: K): T[K] | undefined {
    return this.#values[key];
  }

  has(key: keyof T): boolean {
    return key in this.#values;
  }

  set(values: Partial<T>): void {
    Object.assign(this.#values, values);
  }
}
