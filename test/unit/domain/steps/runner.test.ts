/**
 * The flow runner over steps that record what happens to them: order, skips, the dry-run plan,
 * the undo chain on a failure, a stop (SIGTERM) and a lost lease, its budget, a step that will not
 * stop, the point after which nothing is undone, and a flow that ends early.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InterruptedError,
  KubeadmError,
  StateConflictError,
  UsageError,
} from '../../../../src/core/errors.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { Flow, HeldLease, RunSettings, Step } from '../../../../src/domain/steps/step.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { captureLogger } from '../state/capture-logger.js';
import { ManualClock, settle } from '../state/manual-clock.js';

interface State {
  seen: string[];
  value: number;
}

type Journal = string[];
type TestStep = Step<State, Journal>;

function settings(overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    logger: silentLogger(),
    clock: new ManualClock(),
    signal: new AbortController().signal,
    dryRun: false,
    undoBudgetMs: 60_000,
    stopGraceMs: 5_000,
    ...overrides,
  };
}

/** A step that notes its run, undo and cleanup in the journal (the flow's deps). */
function step(name: string, extra: Partial<TestStep> = {}): TestStep {
  return {
    name,
    kind: 'change',
    describe: () => `do ${name}`,
    async run({ deps }) {
      deps.push(`run ${name}`);
      return undefined;
    },
    undo: { describe: `undo ${name}`, run: async ({ deps }) => void deps.push(`undo ${name}`) },
    cleanup: { describe: `clean ${name}`, run: async ({ deps }) => void deps.push(`clean ${name}`) },
    ...extra,
  };
}

function flow(
  steps: TestStep[],
  extra: Partial<Flow<State, Journal, string>> = {},
): Flow<State, Journal, string> {
  return { name: 'test', steps, result: (_state, run) => `ended=${run.ended ?? '-'}`, ...extra };
}

function failing(name: string, error: Error): TestStep {
  return step(name, {
    async run({ deps }) {
      deps.push(`run ${name}`);
      throw error;
    },
  });
}

async function stoppedBy(promise: Promise<unknown>): Promise<FlowStopped> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FlowStopped, `expected FlowStopped, got ${String(error)}`);
    return error;
  }
  assert.fail('the flow did not stop');
}

describe('runFlow', () => {
  it('runs the steps in order, then the cleanups last first, and times every step', async () => {
    const journal: Journal = [];
    const run = await runFlow(flow([step('a'), step('b', { kind: 'read' }), step('c')]), journal, settings());
    assert.deepEqual(journal, ['run a', 'run b', 'run c', 'clean c', 'clean b', 'clean a']);
    assert.deepEqual(
      run.timings.map((t) => [t.step, t.outcome]),
      [
        ['a', 'done'],
        ['b', 'done'],
        ['c', 'done'],
      ],
    );
    assert.equal(run.result, 'ended=-');
  });

  it('skips a step whose skip() gives a reason, and records why', async () => {
    const journal: Journal = [];
    const run = await runFlow(
      flow([step('a'), step('b', { skip: () => 'nothing to do' }), step('c')]),
      journal,
      settings(),
    );
    assert.deepEqual(journal, ['run a', 'run c', 'clean c', 'clean a']);
    assert.deepEqual(run.timings[1], {
      step: 'b',
      atMs: 0,
      durationMs: 0,
      outcome: 'skipped',
      detail: 'nothing to do',
    });
  });

  it('in a dry run: runs the reads, plans the changes (with their files) and the reads that need a change', async () => {
    const journal: Journal = [];
    const run = await runFlow(
      flow([
        step('read-before', { kind: 'read' }),
        step('write', { files: () => [{ path: '/f', content: 'x: [REDACTED]' }] }),
        step('plain-read', { kind: 'read' }),
        step('read-after', { kind: 'read', afterChange: true }),
      ]),
      journal,
      settings({ dryRun: true }),
    );
    assert.deepEqual(journal, ['run read-before', 'run plain-read', 'clean plain-read', 'clean read-before']);
    assert.deepEqual(run.planned, [
      { step: 'write', description: 'do write', files: [{ path: '/f', content: 'x: [REDACTED]' }] },
      { step: 'read-after', description: 'do read-after' },
    ]);
  });

  it('on a failure: undoes every started step last first (the failing one too), never one that did not start', async () => {
    const journal: Journal = [];
    const recorded: string[] = [];
    const stopped = await stoppedBy(
      runFlow(
        flow([step('a'), failing('b', new KubeadmError('kubeadm init exited 1')), step('c')], {
          recordFailure: async ({ failure, deps }) => {
            deps.push('record');
            recorded.push(`${failure.step}: ${failure.cause}: ${failure.error.message}`);
          },
        }),
        journal,
        settings(),
      ),
    );
    assert.deepEqual(journal, ['run a', 'run b', 'undo b', 'clean b', 'undo a', 'clean a', 'record']);
    assert.equal(stopped.failure.step, 'b');
    assert.equal(stopped.failure.cause, 'failed');
    assert.ok(stopped.failure.error instanceof KubeadmError);
    assert.deepEqual(recorded, ['b: failed: kubeadm init exited 1']);
    assert.equal(stopped.timings.at(-1)?.outcome, 'failed');
  });

  it("wraps an error that is not kboot's as internal, naming the step, and lets the flow map errors", async () => {
    const plain = await stoppedBy(runFlow(flow([failing('a', new TypeError('boom'))]), [], settings()));
    assert.match(plain.failure.error.message, /step a: boom/);
    const mapped = await stoppedBy(
      runFlow(
        flow([failing('a', new TypeError('boom'))], {
          errorFor: (failure) => new UsageError(`mapped ${failure.step}`),
        }),
        [],
        settings(),
      ),
    );
    assert.ok(mapped.failure.error instanceof UsageError);
    assert.equal(mapped.failure.error.message, 'mapped a');
  });

  it('a failing undo is logged and the chain goes on', async () => {
    const journal: Journal = [];
    const { logger, lines } = captureLogger();
    await stoppedBy(
      runFlow(
        flow([
          step('a'),
          step('b', {
            undo: { describe: 'undo b', run: async () => Promise.reject(new Error('reset failed')) },
          }),
          failing('c', new KubeadmError('x')),
        ]),
        journal,
        settings({ logger }),
      ),
    );
    assert.deepEqual(journal, [
      'run a',
      'run b',
      'run c',
      'undo c',
      'clean c',
      'clean b',
      'undo a',
      'clean a',
    ]);
    const line = lines.find((l) => /could not undo step b/.test(l.msg));
    assert.ok(line, 'the failed undo is logged');
    assert.match(JSON.stringify(line), /reset failed/);
  });

  it('on SIGTERM during a step: the step sees its signal aborted, then the chain undoes; interrupted', async () => {
    const journal: Journal = [];
    const outer = new AbortController();
    let stepSignal: AbortSignal | undefined;
    const running = runFlow(
      flow([
        step('a'),
        step('b', {
          async run({ deps, signal }) {
            deps.push('run b');
            stepSignal = signal;
            await new Promise((_resolve, reject) =>
              signal.addEventListener('abort', () => reject(new KubeadmError('kubeadm init was stopped'))),
            );
            return undefined;
          },
        }),
        step('c'),
      ]),
      journal,
      settings({ signal: outer.signal }),
    );
    await settle();
    outer.abort(new InterruptedError('interrupted by SIGTERM'));
    const stopped = await stoppedBy(running);
    assert.equal(stepSignal?.aborted, true);
    assert.equal(stopped.failure.cause, 'interrupted');
    assert.equal(stopped.failure.step, 'b');
    assert.ok(stopped.failure.error instanceof InterruptedError, "the stop, not the step's own error");
    assert.deepEqual(journal, ['run a', 'run b', 'undo b', 'clean b', 'undo a', 'clean a']);
  });

  it('a stop between steps: nothing more starts; what started is undone', async () => {
    const journal: Journal = [];
    const outer = new AbortController();
    const stopped = await stoppedBy(
      runFlow(
        flow([
          step('a', {
            async run({ deps }) {
              deps.push('run a');
              outer.abort(new InterruptedError('interrupted by SIGINT'));
              return undefined;
            },
          }),
          step('b'),
        ]),
        journal,
        settings({ signal: outer.signal }),
      ),
    );
    assert.equal(stopped.failure.step, 'b', 'the step that would have run next');
    assert.deepEqual(journal, ['run a', 'undo a', 'clean a']);
  });

  it('a lost lease stops the flow (exit 8), undoes the later steps, then releases the lease where its step stands', async () => {
    const journal: Journal = [];
    const lost = new AbortController();
    const lease: HeldLease = {
      label: 'bootstrap lease of cluster "prod"',
      lost: lost.signal,
      release: async () => void journal.push('release'),
    };
    const running = runFlow(
      flow([
        step('before'),
        step('lease', {
          undo: undefined,
          cleanup: undefined,
          async run({ deps, holdLease }) {
            deps.push('run lease');
            holdLease(lease);
            return undefined;
          },
        }),
        step('work', {
          async run({ deps, signal }) {
            deps.push('run work');
            await new Promise((_resolve, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason)),
            );
            return undefined;
          },
        }),
      ]),
      journal,
      settings(),
    );
    await settle();
    lost.abort(new StateConflictError('lost the bootstrap lease of cluster "prod" while renewing it'));
    const stopped = await stoppedBy(running);
    assert.equal(stopped.failure.cause, 'lease-lost');
    assert.ok(stopped.failure.error instanceof StateConflictError);
    assert.equal(stopped.failure.error.exitCode, 8);
    assert.deepEqual(journal, [
      'run before',
      'run lease',
      'run work',
      'undo work',
      'clean work',
      'release',
      'undo before',
      'clean before',
    ]);
  });

  it('releases a held lease after the cleanups of a successful run', async () => {
    const journal: Journal = [];
    const lease: HeldLease = {
      label: 'rotate lease',
      lost: new AbortController().signal,
      release: async () => void journal.push('release'),
    };
    await runFlow(
      flow([
        step('lease', {
          cleanup: undefined,
          async run({ holdLease }) {
            holdLease(lease);
            return undefined;
          },
        }),
        step('work'),
      ]),
      journal,
      settings(),
    );
    assert.deepEqual(journal, ['run work', 'clean work', 'release']);
  });

  it('a step that does not stop within the grace: the chain runs anyway', async () => {
    const journal: Journal = [];
    const clock = new ManualClock();
    const outer = new AbortController();
    const running = runFlow(
      flow([
        step('a'),
        step('stuck', {
          async run({ deps }) {
            deps.push('run stuck');
            await new Promise(() => {});
            return undefined;
          },
        }),
      ]),
      journal,
      settings({ clock, signal: outer.signal, stopGraceMs: 5_000 }),
    );
    const stopped = stoppedBy(running);
    await settle();
    outer.abort(new InterruptedError('interrupted by SIGTERM'));
    await clock.advanceMs(4_999);
    assert.deepEqual(journal, ['run a', 'run stuck'], 'waits for the step during the grace');
    await clock.advanceMs(1);
    await stopped;
    assert.deepEqual(journal, ['run a', 'run stuck', 'undo stuck', 'clean stuck', 'undo a', 'clean a']);
  });

  it('the undo budget bounds the chain: a hanging undo is aborted and the rest is skipped, said in the log', async () => {
    const journal: Journal = [];
    const clock = new ManualClock();
    const { logger, lines } = captureLogger();
    let undoSignal: AbortSignal | undefined;
    const running = runFlow(
      flow([
        step('a'),
        step('b', {
          undo: {
            describe: 'kubeadm reset',
            run: async ({ signal }) => {
              undoSignal = signal;
              await new Promise((resolve) => signal.addEventListener('abort', resolve));
            },
          },
        }),
        failing('c', new KubeadmError('x')),
      ]),
      journal,
      settings({ clock, logger, undoBudgetMs: 10_000 }),
    );
    const stopped = stoppedBy(running);
    await settle();
    await clock.advanceMs(10_000);
    await stopped;
    assert.equal(undoSignal?.aborted, true);
    assert.deepEqual(journal, ['run a', 'run b', 'run c', 'undo c', 'clean c']);
    const skipped = lines.find((l) => /undo budget .* ran out/.test(l.msg));
    assert.ok(skipped);
    assert.match(skipped.msg, /b: clean b; a: undo a; a: clean a/);
  });

  it('past the undo budget, still removes the files holding secrets', async () => {
    const journal: Journal = [];
    const clock = new ManualClock();
    const { logger, lines } = captureLogger();
    const running = runFlow(
      flow([
        step('write-config', {
          undo: undefined,
          cleanup: {
            describe: 'remove the config',
            run: async ({ deps }) => void deps.push('remove the config'),
            removesSecrets: true,
          },
        }),
        step('kubeadm', {
          undo: {
            describe: 'kubeadm reset',
            run: async ({ signal }) => {
              await new Promise((resolve) => signal.addEventListener('abort', resolve));
            },
          },
        }),
        failing('c', new KubeadmError('x')),
      ]),
      journal,
      settings({ clock, logger, undoBudgetMs: 10_000 }),
    );
    const stopped = stoppedBy(running);
    await settle();
    await clock.advanceMs(10_000);
    await stopped;
    assert.deepEqual(journal, [
      'run write-config',
      'run kubeadm',
      'run c',
      'undo c',
      'clean c',
      'remove the config',
    ]);
    const skipped = lines.find((l) => /undo budget .* ran out/.test(l.msg));
    assert.match(String(skipped?.msg), /not done: kubeadm: clean kubeadm$/);
  });

  it('after a step that commits, a later failure runs the cleanups but no undo of it or before it', async () => {
    const journal: Journal = [];
    await stoppedBy(
      runFlow(
        flow([
          step('a'),
          step('commit', { commits: 'final' }),
          step('b'),
          failing('c', new KubeadmError('x')),
        ]),
        journal,
        settings(),
      ),
    );
    assert.deepEqual(journal, [
      'run a',
      'run commit',
      'run b',
      'run c',
      'undo c',
      'clean c',
      'undo b',
      'clean b',
      'clean commit',
      'clean a',
    ]);
  });

  it('a committing step that fails itself is undone with the rest', async () => {
    const journal: Journal = [];
    await stoppedBy(
      runFlow(
        flow([step('a'), { ...failing('commit', new StateConflictError('lost')), commits: 'final' }]),
        journal,
        settings(),
      ),
    );
    assert.deepEqual(journal, ['run a', 'run commit', 'undo commit', 'clean commit', 'undo a', 'clean a']);
  });

  it('a step that finishes as the stop comes counts as done: a commit holds', async () => {
    const journal: Journal = [];
    const outer = new AbortController();
    await stoppedBy(
      runFlow(
        flow([
          step('a'),
          step('commit', {
            commits: 'final',
            async run({ deps }) {
              outer.abort(new InterruptedError('interrupted by SIGTERM'));
              await settle();
              deps.push('run commit');
              return undefined;
            },
          }),
          step('b'),
        ]),
        journal,
        settings({ signal: outer.signal }),
      ),
    );
    assert.deepEqual(journal, ['run a', 'run commit', 'clean commit', 'clean a']);
  });

  it('a step that ends the flow: the rest does not run, the cleanups do, the result says why', async () => {
    const journal: Journal = [];
    const run = await runFlow(
      flow([
        step('a'),
        step('check', {
          async run({ deps }) {
            deps.push('run check');
            return { end: 'already a member' };
          },
        }),
        step('b'),
      ]),
      journal,
      settings(),
    );
    assert.equal(run.result, 'ended=already a member');
    assert.deepEqual(journal, ['run a', 'run check', 'clean check', 'clean a']);
  });

  it('steps share what they learn through the state; a missing value is a bug named by its key', async () => {
    const shared = await runFlow<State, Journal, number>(
      {
        name: 'state',
        steps: [
          { ...step('set'), run: async ({ state }) => void state.set({ value: 41 }) },
          { ...step('use'), run: async ({ state }) => void state.set({ value: state.get('value') + 1 }) },
        ],
        result: (state) => state.get('value'),
      },
      [],
      settings(),
    );
    assert.equal(shared.result, 42);
    const missing = await stoppedBy(
      runFlow<State, Journal, number>(
        {
          name: 'missing',
          steps: [{ ...step('use'), run: async ({ state }) => void state.get('value') }],
          result: () => 0,
        },
        [],
        settings(),
      ),
    );
    assert.match(missing.failure.error.message, /needs "value", which no earlier step set/);
  });

  it('marks moments inside a step for the timeline', async () => {
    const clock = new ManualClock();
    const run = await clock.run(
      runFlow(
        flow([
          step('wait', {
            async run({ mark }) {
              await clock.sleepMs(1_500);
              mark('initialized-seen');
              return undefined;
            },
          }),
        ]),
        [],
        settings({ clock }),
      ),
    );
    assert.deepEqual(run.milestones, [{ milestone: 'initialized-seen', atMs: 1_500 }]);
  });
});
