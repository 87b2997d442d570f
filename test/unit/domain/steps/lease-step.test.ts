/**
 * A lease step's own rules, apart from the flows that use it: it is a change step whose undo is
 * the runner's release, and it is skipped exactly when its flow says so (cleanup's lease, when
 * nothing belongs to a lost instance).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseStep } from '../../../../src/domain/steps/lease-step.js';

const none = undefined as never;

function step(skip?: () => string | undefined) {
  return leaseStep<object, object>({
    name: 'some-lease',
    describe: () => 'take some lease',
    request: async () => assert.fail('not run here'),
    acquired: () => undefined,
    busy: () => assert.fail('not run here'),
    ...(skip === undefined ? {} : { skip }),
  });
}

describe('leaseStep', () => {
  it('is skipped when its flow says why, and runs when it says nothing', () => {
    assert.equal(
      step(() => 'nothing belongs to a lost instance').skip?.(none, none),
      'nothing belongs to a lost instance',
    );
    assert.equal(step(() => undefined).skip?.(none, none), undefined);
  });

  it('is never skipped when its flow gives no rule', () => {
    assert.equal(step().skip?.(none, none), undefined);
  });

  it('is a change step, released by the runner instead of undone', () => {
    const s = step();
    assert.deepEqual([s.name, s.kind, s.undo], ['some-lease', 'change', undefined]);
  });
});
