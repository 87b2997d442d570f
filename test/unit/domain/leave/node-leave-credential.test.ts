import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import {
  NODE_LEAVE_RULES,
  parseNodeLeaveSecret,
  renderNodeLeaveKubeconfig,
  renderNodeLeaveRbac,
  serializeNodeLeaveSecret,
} from '../../../../src/domain/leave/node-leave-credential.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('the node-leave credential', () => {
  it('grants exactly what kubectl drain and delete node need, nothing cluster-wide beyond that', () => {
    const docs = YAML.parseAllDocuments(renderNodeLeaveRbac()).map((doc) => doc.toJS());
    assert.deepEqual(
      docs.map((doc) => `${doc.kind}/${doc.metadata.name}`),
      [
        'ServiceAccount/kboot-node-leave',
        'ClusterRole/kboot:node-leave',
        'ClusterRoleBinding/kboot:node-leave',
      ],
    );
    const role = docs[1];
    assert.deepEqual(role.rules, NODE_LEAVE_RULES);
    const verbs = role.rules.flatMap((rule: { verbs: string[] }) => rule.verbs);
    for (const forbidden of ['*', 'create', 'update', 'escalate', 'bind', 'impersonate']) {
      if (forbidden === 'create') {
        // Only evictions are created.
        const creates = role.rules.filter((rule: { verbs: string[] }) => rule.verbs.includes('create'));
        assert.deepEqual(
          creates.map((rule: { resources: string[] }) => rule.resources),
          [['pods/eviction']],
        );
      } else assert.ok(!verbs.includes(forbidden), forbidden);
    }
    assert.ok(!JSON.stringify(role.rules).includes('secrets'));
    assert.deepEqual(docs[2].subjects, [
      { kind: 'ServiceAccount', name: 'kboot-node-leave', namespace: 'kube-system' },
    ]);
  });

  it('renders a kubeconfig with the cluster entry and the bearer token, and round-trips through the secret', () => {
    const kubeconfig = renderNodeLeaveKubeconfig({
      cluster: 'prod',
      clusterEntry: { server: 'https://api:6443', 'certificate-authority-data': 'Q0E=' },
      token: new Secret(TOKEN),
    });
    const doc = YAML.parse(kubeconfig.reveal());
    assert.equal(doc['current-context'], 'prod-node-leave');
    assert.deepEqual(doc.users, [{ name: 'prod-node-leave', user: { token: TOKEN } }]);
    assert.equal(doc.clusters[0].cluster.server, 'https://api:6443');
    assert.ok(!String(kubeconfig).includes(TOKEN), 'the Secret never renders its value');
    const text = serializeNodeLeaveSecret({
      schemaVersion: 1,
      kubeconfig,
      expiresAt: '2026-11-25T00:00:00.000Z',
      updatedAt: '2026-11-23T00:00:00.000Z',
    });
    const parsed = parseNodeLeaveSecret(text, 'secret kboot/prod/node-leave');
    assert.equal(parsed.kubeconfig.reveal(), kubeconfig.reveal());
    assert.equal(parsed.expiresAt, '2026-11-25T00:00:00.000Z');
  });

  it('rejects a malformed secret naming the fields, never a value', () => {
    for (const text of [
      'not json',
      JSON.stringify({ schemaVersion: 1, kubeconfig: TOKEN, expiresAt: 'soon' }),
    ]) {
      assert.throws(
        () => parseNodeLeaveSecret(text, 'secret kboot/prod/node-leave'),
        (error: unknown) =>
          error instanceof StateConflictError &&
          /secret kboot\/prod\/node-leave is not a kboot node-leave credential/.test(error.message) &&
          !error.message.includes(TOKEN),
      );
    }
  });
});
