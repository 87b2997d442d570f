/**
 * Golden files for the policy renderer: every folder test/unit/domain/iam/cases/<name>/ holds
 *  - input.json: { "role": "control-plane" | "worker" | "operator", "scope": { cluster?, table?,
 *    region?, account?, kmsKeyArn? }, "cloudController"?: true } — the flags of `kboot iam-policy`;
 *  - expected.json: the document printed, compared as JSON (the files are formatted by biome like
 *    the rest of test/; the exact text layout is checked in policy.test.ts).
 * UPDATE_GOLDEN=1 rewrites expected.json from the current output (review the diff, then run
 * `npx biome format --write test/unit/domain/iam/cases`).
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { policyDocument, renderPolicy } from '../../../../src/domain/iam/policy.js';
import type { IamRole } from '../../../../src/domain/iam/roles.js';
import { type PolicyScopeInput, resolvePolicyScope } from '../../../../src/domain/iam/scope.js';

const casesDir = path.join(import.meta.dirname, 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

describe('iam policy golden files', () => {
  const cases = readdirSync(casesDir).sort();
  it('has cases', () => assert.ok(cases.length >= 6));
  for (const name of cases) {
    it(name, () => {
      const dir = path.join(casesDir, name);
      const spec = JSON.parse(readFileSync(path.join(dir, 'input.json'), 'utf8')) as {
        role: IamRole;
        scope: PolicyScopeInput;
        cloudController?: boolean;
      };
      const rendered = renderPolicy(
        policyDocument(spec.role, resolvePolicyScope(spec.scope), { cloudController: spec.cloudController }),
      );
      const expectedFile = path.join(dir, 'expected.json');
      if (update) writeFileSync(expectedFile, rendered);
      assert.deepEqual(JSON.parse(rendered), JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});
