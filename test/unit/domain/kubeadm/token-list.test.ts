import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeadmError } from '../../../../src/core/errors.js';
import { parseTokenList } from '../../../../src/domain/kubeadm/token-list.js';

/** What kubeadm prints: one indented JSON object per token, back to back. */
const output = `{
    "kind": "BootstrapToken",
    "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
    "token": "abcdef.0123456789abcdef",
    "description": "a } in a \\"description\\"",
    "expires": "2030-01-02T03:04:05Z",
    "usages": [
        "authentication",
        "signing"
    ],
    "groups": [
        "system:bootstrappers:kubeadm:default-node-token"
    ]
}
{
    "kind": "BootstrapToken",
    "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
    "token": "uvwxyz.abcdefghij012345",
    "usages": ["signing"],
    "groups": []
}
`;

describe('parseTokenList', () => {
  it('keeps ids, expiry, usages, groups and description, and drops the secrets', () => {
    const tokens = parseTokenList(output);
    assert.deepEqual(tokens, [
      {
        id: 'abcdef',
        expiresAtMs: Date.UTC(2030, 0, 2, 3, 4, 5),
        usages: ['authentication', 'signing'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
        description: 'a } in a "description"',
      },
      { id: 'uvwxyz', expiresAtMs: undefined, usages: ['signing'], groups: [], description: undefined },
    ]);
    assert.ok(!JSON.stringify(tokens).includes('0123456789abcdef'));
  });

  it('reads an empty list', () => {
    assert.deepEqual(parseTokenList(''), []);
  });

  const bad: [string, string][] = [
    ['not JSON', 'no tokens'],
    ['truncated', '{"token": "abcdef.0123456789abcdef"'],
    ['a malformed token', '{"token": "abc"}'],
    ['a bad expiry', '{"token": "abcdef.0123456789abcdef", "expires": "soon"}'],
  ];
  for (const [name, text] of bad) {
    it(`refuses ${name} without echoing the output`, () => {
      assert.throws(
        () => parseTokenList(text),
        (error: unknown) => error instanceof KubeadmError && !error.message.includes('0123456789abcdef'),
      );
    });
  }
});
