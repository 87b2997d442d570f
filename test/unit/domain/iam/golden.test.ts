/**
 * Golden files for the policy renderer: every folder test/unit/domain/iam/cases/<name>/ holds
 *  - input.json: { "role": "control-plane" | "worker" | "operator", "scope": { cluster?, table?,
 *    region?, account?, kmsKeyArn? }, "cloudController"?: true, "policy"?: "<operator managed policy>" }
 *    — the flags of `kboot iam-policy`;
 *  - expected.json: the document printed, compared as JSON (the files are formatted by biome like
 *    the rest of test/; the exact text layout is checked in policy.test.ts).
 * test/support/golden.ts runs them; UPDATE_GOLDEN=1 rewrites expected.json from the current output
 * (review the diff, then run `npx biome format --write test/unit/domain/iam/cases`).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { operatorPolicyDocument } from '../../../../src/domain/iam/operator-policies.js';
import { policyDocument, renderPolicy } from '../../../../src/domain/iam/policy.js';
import type { IamRole, OperatorPolicyName } from '../../../../src/domain/iam/roles.js';
import { type PolicyScopeInput, resolvePolicyScope } from '../../../../src/domain/iam/scope.js';
import { goldenSuite } from '../../../support/golden.js';

function render(caseDir: string): string {
  const spec = JSON.parse(readFileSync(path.join(caseDir, 'input.json'), 'utf8')) as {
    role: IamRole;
    scope: PolicyScopeInput;
    cloudController?: boolean;
    policy?: OperatorPolicyName;
  };
  const scope = resolvePolicyScope(spec.scope);
  return renderPolicy(
    spec.policy === undefined
      ? policyDocument(spec.role, scope, { cloudController: spec.cloudController })
      : operatorPolicyDocument(scope, spec.policy),
  );
}

goldenSuite({
  title: 'iam policy golden files',
  casesDir: path.join(import.meta.dirname, 'cases'),
  prefix: '',
  promised: [
    'control-plane-backup-kms',
    'control-plane-cloud-controller',
    'control-plane-irsa-bucket-china',
    'control-plane-one-cluster-kms',
    'operator-every-cluster-kms',
    'operator-one-cluster',
    'operator-one-cluster-irsa-kms',
    'operator-policy-access',
    'operator-policy-cluster-compute',
    'operator-policy-upgrade',
    'worker-kms-china',
    'worker-one-cluster',
  ],
  expectedFile: 'expected.json',
  compare: (actual, expected) => assert.deepEqual(JSON.parse(actual), JSON.parse(expected)),
  render,
});
