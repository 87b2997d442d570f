/**
 * Dependency order for the cluster engine: checking a graph (every dependency known, no cycle),
 * and running work over it with a small concurrency limit, each item only once everything it
 * waits for has succeeded. An item whose prerequisite failed is not run ("blocked"); independent
 * items go on, so one failure reports everything it held back at once. Pure (no AWS, no clock).
 */

import { InternalError } from '../../core/errors.js';

export interface OrderedItem {
  key: string;
  /** Keys that must succeed first. */
  after: readonly string[];
}

/** Throws when an item waits for an unknown key or the graph has a cycle. */
export function checkOrder(items: readonly OrderedItem[]): void {
  const keys = new Set<string>();
  for (const item of items) {
    if (keys.has(item.key)) throw new InternalError(`resource key ${item.key} appears twice in the graph`);
    keys.add(item.key);
  }
  for (const item of items) {
    for (const dep of item.after) {
      if (!keys.has(dep)) throw new InternalError(`${item.key} depends on ${dep}, which is not in the graph`);
    }
  }
  topologicalOrder(items);
}

/** Keys in an order where every item comes after what it waits for (input order among equals). */
export function topologicalOrder(items: readonly OrderedItem[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  const byKey = new Map(items.map((item) => [item.key, item]));
  const visiting = new Set<string>();
  const visit = (key: string, path: string[]) => {
    if (done.has(key)) return;
    if (visiting.has(key))
      throw new InternalError(`the resource graph has a cycle: ${[...path, key].join(' → ')}`);
    visiting.add(key);
    for (const dep of byKey.get(key)?.after ?? []) if (byKey.has(dep)) visit(dep, [...path, key]);
    visiting.delete(key);
    done.add(key);
    order.push(key);
  };
  for (const item of items) visit(item.key, []);
  return order;
}

export interface RunOutcome {
  succeeded: string[];
  failed: Map<string, unknown>;
  /** Not run because something they wait for failed (or was blocked). */
  blocked: string[];
}

/**
 * Runs `work` for every item once its `after` keys have succeeded, at most `limit` at a time.
 * Stops starting new work when `signal` aborts (the items left are reported as blocked).
 */
export async function runInOrder(
  items: readonly OrderedItem[],
  limit: number,
  work: (key: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  checkOrder(items);
  const succeeded = new Set<string>();
  const failed = new Map<string, unknown>();
  const blocked = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const waiting = new Map(items.map((item) => [item.key, item]));
  const order = topologicalOrder(items);

  for (;;) {
    // Block what can no longer run.
    let changed = true;
    while (changed) {
      changed = false;
      for (const [key, item] of waiting) {
        if (signal?.aborted === true || item.after.some((dep) => failed.has(dep) || blocked.has(dep))) {
          waiting.delete(key);
          blocked.add(key);
          changed = true;
        }
      }
    }
    for (const key of order) {
      if (running.size >= limit) break;
      const item = waiting.get(key);
      if (item === undefined || !item.after.every((dep) => succeeded.has(dep))) continue;
      waiting.delete(key);
      running.set(
        key,
        work(key).then(
          () => {
            succeeded.add(key);
            running.delete(key);
          },
          (error: unknown) => {
            failed.set(key, error);
            running.delete(key);
          },
        ),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const key of waiting.keys()) blocked.add(key);
  return {
    succeeded: order.filter((key) => succeeded.has(key)),
    failed,
    blocked: order.filter((key) => blocked.has(key)),
  };
}
