/**
 * Golden files for the rendered addons: every folder test/cases/addons-<name>/ holds
 *  - input.json: the planAddons input (cluster facts, the addons, image overrides, addons.d files);
 *  - expected.yaml: every planned addon's manifest in apply order, each after a `---` and a
 *    `# ==== <name> -> <file>` line.
 * UPDATE_GOLDEN=1 rewrites expected.yaml from the current output (review the diff).
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type AddonsInput, planAddons } from '../../../../src/domain/addons/plan.js';
import { repoRoot } from '../../../support/paths.js';

const casesDir = path.join(repoRoot(), 'test', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

function render(caseDir: string): string {
  const input = JSON.parse(readFileSync(path.join(caseDir, 'input.json'), 'utf8')) as AddonsInput;
  return planAddons(input)
    .map((addon) => {
      for (const doc of parseAllDocuments(addon.manifest))
        assert.deepEqual(doc.errors, [], `${addon.name}: valid YAML`);
      return `---\n# ==== ${addon.name} -> ${addon.file}\n${addon.manifest}`;
    })
    .join('');
}

const caseNames = readdirSync(casesDir)
  .filter((name) => name.startsWith('addons-') && existsSync(path.join(casesDir, name, 'input.json')))
  .sort();

describe('addon manifests golden files (test/cases/addons-*)', () => {
  it('has the cases this suite promises', () => {
    for (const name of [
      'addons-cilium-ccm-v1-31',
      'addons-ccm-only-v1-33',
      'addons-cilium-mirror-small-cidr',
    ]) {
      assert.ok(caseNames.includes(name), `missing test/cases/${name}`);
    }
  });

  for (const name of caseNames) {
    it(name, () => {
      const caseDir = path.join(casesDir, name);
      const actual = render(caseDir);
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
