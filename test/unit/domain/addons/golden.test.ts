/**
 * Golden files for the rendered addons: every folder test/cases/addons-<name>/ holds
 *  - input.json: the planAddons input (cluster facts, the addons, image overrides, addons.d files);
 *  - expected.yaml: every planned addon's manifest in apply order, each after a `---` and a
 *    `# ==== <name> -> <file>` line.
 * test/support/golden.ts runs them; UPDATE_GOLDEN=1 rewrites expected.yaml (review the diff).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type AddonsInput, planAddons } from '../../../../src/domain/addons/plan.js';
import { goldenSuite } from '../../../support/golden.js';

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

goldenSuite({
  title: 'addon manifests golden files (test/cases/addons-*)',
  prefix: 'addons-',
  promised: [
    'addons-cilium-ccm-v1-31',
    'addons-ccm-only-v1-33',
    'addons-cilium-mirror-small-cidr',
    // One per supported Kubernetes minor (src/domain/kubeadm/versions.ts): the images differ.
    'addons-cilium-ccm-v1-35',
    'addons-cilium-ccm-v1-36',
    'addons-cilium-ccm-v1-37',
  ],
  render,
});
