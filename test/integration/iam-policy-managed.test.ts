/**
 * `kboot iam-policy --role operator --policy NAME` through the built binary: each of the operator's
 * managed policies fits IAM's limit, together they hold the whole document's statements, and a
 * --policy for another role or of an unknown name is a usage error (exit 2). No AWS call.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPERATOR_POLICY_NAMES } from '../../src/domain/iam/roles.js';
import { runKboot } from '../support/cli.js';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EVERYTHING = [
  '--cluster',
  'a-rather-long-production-cluster-name',
  '--region',
  'us-east-1',
  '--account',
  '123456789012',
  '--kms-key-arn',
  KEY,
  '--irsa-bucket',
  'b'.repeat(63),
  '--backup-bucket',
  'c'.repeat(63),
];

interface Document {
  Statement: { Sid: string }[];
}

async function printed(extra: string[]) {
  const result = await runKboot(['iam-policy', '--role', 'operator', ...EVERYTHING, ...extra], {
    env: { KBOOT_TABLE: undefined, AWS_REGION: undefined },
  });
  assert.equal(result.exitCode, 0, result.stderr);
  return { result, document: JSON.parse(result.stdout) as Document };
}

describe("kboot iam-policy --policy: the operator's managed policies", () => {
  it("prints each policy under IAM's 6,144 characters; together they hold the whole document's statements", async () => {
    const whole = await printed([]);
    assert.ok(JSON.stringify(whole.document).length > 6144);
    assert.match(whole.result.stderr, /over the 6144 characters of an IAM managed policy/);
    const statements: string[] = [];
    for (const name of OPERATOR_POLICY_NAMES) {
      const { result, document } = await printed(['--policy', name]);
      assert.ok(JSON.stringify(document).length <= 6144, name);
      assert.doesNotMatch(result.stderr, /over the 6144 characters/);
      statements.push(...document.Statement.map((statement) => JSON.stringify(statement)));
    }
    for (const statement of whole.document.Statement) {
      assert.ok(statements.includes(JSON.stringify(statement)), statement.Sid);
    }
  });

  it('refuses --policy for a node role, and an unknown policy, with exit 2', async () => {
    const worker = await runKboot([
      'iam-policy',
      '--role',
      'worker',
      '--cluster',
      'prod',
      '--policy',
      'access',
    ]);
    assert.equal(worker.exitCode, 2);
    assert.match(worker.stderr, /--policy is for --role operator, not worker/);
    assert.equal(worker.stdout, '');
    const unknown = await runKboot(['iam-policy', '--role', 'operator', '--policy', 'everything']);
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /everything/);
    assert.equal(unknown.stdout, '');
  });
});
