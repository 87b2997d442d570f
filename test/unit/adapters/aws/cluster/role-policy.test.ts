import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rolePolicy } from '../../../../../src/adapters/aws/cluster/iam.js';
import { clusterGraph, type IamRoleProperties } from '../../../../../src/domain/cluster/graph.js';
import { parseClusterSpec } from '../../../../../src/domain/cluster/spec.js';
import { repoRoot } from '../../../../support/paths.js';

/** A key in the spec's region, as cluster create makes it. */
function keyIn(region: string): string {
  return `arn:aws:kms:${region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
}

/** The role policies `kboot cluster create` attaches for a spec of test/cases. */
function attached(caseName: string): Record<string, { text: string; bucket: string | undefined }> {
  const text = readFileSync(path.join(repoRoot(), 'test', 'cases', caseName, 'spec.yaml'), 'utf8');
  const graph = clusterGraph(parseClusterSpec(text, `${caseName}/spec.yaml`, { name: 'demo' }));
  const out: Record<string, { text: string; bucket: string | undefined }> = {};
  for (const resource of graph.filter((r) => r.kind === 'iam-role')) {
    const properties = resource.properties as unknown as IamRoleProperties;
    out[properties.policyRole] = {
      text: rolePolicy(properties, keyIn(properties.scope.region)),
      bucket: properties.scope.irsaBucket,
    };
  }
  return out;
}

describe('the role policies cluster create attaches', () => {
  it('has no S3 statement without IRSA', () => {
    const policies = attached('cluster-graph-minimal');
    assert.deepEqual(Object.keys(policies).sort(), ['control-plane', 'worker']);
    for (const [role, { text }] of Object.entries(policies)) {
      assert.doesNotMatch(text, /s3:|arn:aws:s3/, role);
    }
  });

  it("with IRSA, lets the control plane write the two OIDC documents of the cluster's bucket only", () => {
    const policies = attached('cluster-graph-irsa-per-az');
    const bucket = policies['control-plane']?.bucket as string;
    assert.ok(bucket);
    const document = JSON.parse(policies['control-plane']?.text ?? '{}') as {
      Statement: { Action: string[]; Resource: string[] }[];
    };
    const s3 = document.Statement.filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    assert.deepEqual(
      s3.flatMap((s) => s.Resource),
      [`arn:aws:s3:::${bucket}/.well-known/openid-configuration`, `arn:aws:s3:::${bucket}/openid/v1/jwks`],
    );
    assert.doesNotMatch(policies.worker?.text ?? '', /s3:/);
  });
});
