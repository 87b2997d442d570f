/**
 * Golden-file suites: every folder test/cases/<prefix><name>/ (or in the suite's own casesDir)
 * with an input.json is one test that renders the case and compares the text with its
 * expected.yaml (or the suite's expectedFile). UPDATE_GOLDEN=1 rewrites the expected file from
 * the current output (review the diff); without it a missing one fails.
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
  /** Where the case folders are; test/cases by default. */
  casesDir?: string;
  /** The expected output's file name in a case folder; expected.yaml by default. */
  expectedFile?: string;
  /** Compares the rendered text with the expected file's; equal text by default. */
  compare?: (actual: string, expected: string) => void;
}

export function goldenSuite(suite: GoldenSuite): void {
  const update = process.env.UPDATE_GOLDEN === '1';
  const dir = suite.casesDir ?? casesDir;
  const expectedFile = suite.expectedFile ?? 'expected.yaml';
  const compare = suite.compare ?? ((actual: string, expected: string) => assert.equal(actual, expected));
  const caseNames = readdirSync(dir)
    .filter((name) => name.startsWith(suite.prefix) && existsSync(path.join(dir, name, 'input.json')))
    .sort();

  describe(suite.title, () => {
    it('has the cases this suite promises', () => {
      for (const name of suite.promised) {
        assert.ok(caseNames.includes(name), `missing ${path.relative(repoRoot(), path.join(dir, name))}`);
      }
    });

    for (const name of caseNames) {
      it(name, () => {
        const caseDir = path.join(dir, name);
        const actual = suite.render(caseDir);
        const expectedPath = path.join(caseDir, expectedFile);
        if (update || !existsSync(expectedPath)) {
          if (!update) assert.fail(`${expectedPath} is missing: run with UPDATE_GOLDEN=1 and review it`);
          writeFileSync(expectedPath, actual);
          return;
        }
        compare(actual, readFileSync(expectedPath, 'utf8'));
      });
    }
  });
}
