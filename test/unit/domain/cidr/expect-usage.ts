import assert from 'node:assert/strict';
import { UsageError } from '../../../../src/core/errors.js';

/** Asserts `run` throws a UsageError whose message matches every pattern and that has a hint. */
export function assertUsageError(run: () => unknown, ...patterns: RegExp[]): UsageError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UsageError, `expected a UsageError, got ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  assert.ok(caught.hint !== undefined && caught.hint.length > 0, 'the error has a hint');
  assert.ok(!caught.message.includes('\n'), 'the message is one line');
  return caught;
}
