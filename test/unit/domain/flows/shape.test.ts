/**
 * Every flow is written in the one step shape (src/domain/steps): a list of named steps, each
 * change step saying how it is undone or made safe, and nothing planned or tracked by hand.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bootstrapMasterFlow } from '../../../../src/domain/flows/bootstrap-master.js';
import { cleanupFlow } from '../../../../src/domain/flows/cleanup.js';
import { etcdRestoreFlow } from '../../../../src/domain/flows/etcd-restore.js';
import { etcdSnapshotFlow } from '../../../../src/domain/flows/etcd-snapshot.js';
import { joinMasterFlow } from '../../../../src/domain/flows/join-master.js';
import { joinNodeFlow } from '../../../../src/domain/flows/join-node.js';
import { leaveFlow } from '../../../../src/domain/flows/leave.js';
import { leaveControllerFlow } from '../../../../src/domain/flows/leave-controller.js';
import { recoverControlPlaneFlow } from '../../../../src/domain/flows/recover-control-plane.js';
import { rotateFlow } from '../../../../src/domain/flows/rotate/flow.js';
import type { Step } from '../../../../src/domain/steps/step.js';
import { repoRoot } from '../../../support/paths.js';

const FLOWS = [
  bootstrapMasterFlow,
  joinMasterFlow,
  joinNodeFlow,
  rotateFlow,
  cleanupFlow,
  leaveFlow,
  leaveControllerFlow,
  etcdSnapshotFlow,
  etcdRestoreFlow,
  recoverControlPlaneFlow,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? sourceFiles(full) : entry.endsWith('.ts') ? [full] : [];
  });
}

describe('the flow shape', () => {
  for (const flow of FLOWS) {
    describe(flow.name, () => {
      const steps = flow.steps as readonly Step<object, unknown>[];

      it('names every step once, in kebab-case', () => {
        const names = steps.map((step) => step.name);
        assert.deepEqual(names, [...new Set(names)], 'a step name repeats');
        for (const name of names) assert.match(name, /^[a-z]+(-[a-z]+)*$/, name);
      });

      it('says, for every change step, how it is undone or made safe, or why it needs neither', () => {
        for (const step of steps.filter((candidate) => candidate.kind === 'change')) {
          const safeguards = [step.undo, step.cleanup, step.noUndo, step.commits].filter(
            (s) => s !== undefined,
          );
          assert.ok(
            safeguards.length > 0,
            `${flow.name}: change step ${step.name} has no undo, cleanup or noUndo`,
          );
          if (step.noUndo !== undefined) {
            assert.equal(step.undo, undefined, `${step.name}: noUndo beside an undo`);
            assert.ok(step.noUndo.length > 10, `${step.name}: say why no undo is needed`);
          }
        }
      });

      it('removes every file it writes with secrets in a cleanup that runs on every path', () => {
        // A step that plans files writes them (with secrets) in its run; the runner runs its
        // cleanup whether the flow succeeds, fails, is stopped or runs out of undo budget.
        for (const step of steps.filter((candidate) => candidate.files !== undefined)) {
          assert.equal(
            step.cleanup?.removesSecrets,
            true,
            `${flow.name}: ${step.name} leaves its file behind`,
          );
        }
      });

      it('keeps undo and commits for change steps', () => {
        for (const step of steps.filter((candidate) => candidate.kind === 'read')) {
          assert.equal(step.undo, undefined, `read step ${step.name} has an undo`);
          assert.equal(step.commits, undefined, `read step ${step.name} commits`);
          assert.equal(step.noUndo, undefined, `read step ${step.name} has noUndo`);
        }
      });
    });
  }

  it('bootstrap-master never resets the first master once the cluster is marked initialized', () => {
    const steps = bootstrapMasterFlow.steps as readonly Step<object, unknown>[];
    const commit = steps.findIndex((step) => step.commits !== undefined);
    assert.equal(steps[commit]?.name, 'publish-join-material');
    const reset = steps.findIndex((step) => step.name === 'kubeadm-init');
    assert.ok(reset < commit && steps[reset]?.undo !== undefined);
  });

  it('no flow plans or tracks its steps by hand', () => {
    const dir = path.join(repoRoot(), 'src', 'domain');
    const offenders: string[] = [];
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of [
        /\blet step\b/,
        /\.planned\.push\(/,
        /\bsteps\.(read|change)\(/,
        /new Steps\(/,
      ]) {
        if (pattern.test(text)) offenders.push(`${path.relative(dir, file)}: ${pattern}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
