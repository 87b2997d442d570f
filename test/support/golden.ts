/**
 * Golden-file suites: every folder test/cases/<prefix><name>/ with an input.json is one test that
 * renders the case and compares the text with its expected.yaml. UPDATE_GOLDEN=1 rewrites
 * expected.yaml from the current output (review the diff); without it a missing one fails.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './paths.js';

export const casesDir = path.join(repoRoot(), 'test', 'cases');

export interface GoldenSuite {
  /** The describe title. */
  title: string;
  /** The case folders' name prefix, e.g. `kubeadm-`. */
  prefix: string;
  /** Cases that must exist, so a lost folder fails instead of silently testing less. */
  promised: readonly string[];
  /** The case's rendered text, from its folder. */
  render(caseDir: string): string;
}

export function goldenSuite(suite: GoldenSuite): void {
  const update = process.env.UPDATE_GOLDEN === '1';
  const caseNames = readdirSync(casesDir)
    .filter((name) => name.startsWith(suite.prefix) && existsSync(path.join(casesDir, name, 'input.json')))
    .sort();

  describe(suite.title, () => {
    it('has the cases this suite promises', () => {
      for (const name of suite.promised) {
        assert.ok(caseNames.includes(name), `missing test/cases/${name}`);
      }
    });

    for (const name of caseNames) {
      it(name, () => {
        const caseDir = path.join(casesDir, name);
        const actual = suite.render(caseDir);
        const expectedPath = path.join(caseDir, 'expected.yaml');
        if (update || !existsSync(expectedPath)) {
          if (!update) assert.fail(`${expectedPath} is missing: run with UPDATE_GOLDEN=1 and review it`);
          writeFileSync(expectedPath, actual);
          return;
        }
        assert.equal(actual, readFileSync(expectedPath, 'utf8'));
      });
    }
  });
}
