import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { entryNames, parseAdminKubeconfig } from '../../../../src/domain/kubeconfig/admin.js';
import { adminConf } from './fixtures.js';

const SOURCE = 'secret kboot/prod/admin.conf';

describe('parseAdminKubeconfig', () => {
  it("picks kubeadm's admin context, its cluster and its user", () => {
    const fixture = adminConf();
    const admin = parseAdminKubeconfig(new Secret(fixture.text), SOURCE);
    assert.deepEqual(admin.cluster, { 'certificate-authority-data': fixture.caData, server: fixture.server });
    assert.deepEqual(admin.user.reveal(), {
      'client-certificate-data': fixture.certData,
      'client-key-data': fixture.keyData,
    });
    assert.equal(admin.namespace, undefined);
    assert.ok(!inspect(admin).includes(fixture.keyData));
  });

  it('uses the only context when current-context is missing, and keeps its namespace', () => {
    const text = `clusters: [{name: c, cluster: {server: 'https://a:6443'}}]
users: [{name: u, user: {token: abc}}, {name: other, user: {token: def}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ops}}]
`;
    const admin = parseAdminKubeconfig(new Secret(text), SOURCE);
    assert.deepEqual(admin.user.reveal(), { token: 'abc' });
    assert.equal(admin.namespace, 'ops');
  });

  const fixture = adminConf();
  const secrets = [fixture.keyData, fixture.certData];
  const broken: { name: string; text: string; message: RegExp }[] = [
    {
      name: 'YAML that does not parse',
      text: `users: [${fixture.keyData}\n  - : :`,
      message: /is not valid YAML \(line \d+, column \d+\)$/,
    },
    { name: 'a list at the top', text: `- ${fixture.keyData}\n`, message: /is not a YAML mapping/ },
    { name: 'an empty document', text: '', message: /is not a YAML mapping/ },
    {
      name: 'no clusters',
      text: fixture.text.replace(/clusters:[\s\S]*?contexts:/, 'contexts:'),
      message: /clusters is missing/,
    },
    { name: 'no users', text: fixture.text.replace(/users:[\s\S]*$/, ''), message: /users is missing/ },
    {
      name: 'a cluster without server',
      text: fixture.text.replace(/ {4}server: .*\n/, ''),
      message: /clusters\[0\]\.cluster\.server is missing/,
    },
    {
      name: 'a server that is not a URL',
      text: fixture.text.replace(/server: .*/, 'server: prod:6443'),
      message: /clusters\[0\]\.cluster\.server: expected an http\(s\) URL/,
    },
    {
      name: 'a current-context that does not exist',
      text: fixture.text.replace('current-context: kubernetes-admin@kubernetes', 'current-context: nope'),
      message: /current-context names "nope", which is not in contexts/,
    },
    {
      name: 'a context naming an unknown user',
      text: fixture.text.replace('    user: kubernetes-admin', '    user: ghost'),
      message: /contexts\[0\]\.context\.user names "ghost", which is not in users/,
    },
    {
      name: 'a context naming an unknown cluster',
      text: fixture.text.replace('    cluster: kubernetes', '    cluster: ghost'),
      message: /contexts\[0\]\.context\.cluster names "ghost", which is not in clusters/,
    },
    {
      name: 'an empty user',
      text: fixture.text.replace(/ {2}user:\n[\s\S]*$/, '  user: {}\n'),
      message: /users\[0\]\.user is empty/,
    },
    {
      name: 'two contexts and no current-context',
      text: fixture.text
        .replace(/current-context: .*\n/, '')
        .replace(
          'contexts:\n',
          'contexts:\n- context: {cluster: kubernetes, user: kubernetes-admin}\n  name: second\n',
        ),
      message: /current-context is missing and there is more than one context/,
    },
  ];
  for (const { name, text, message } of broken) {
    it(`rejects ${name} without quoting credentials`, () => {
      assert.throws(
        () => parseAdminKubeconfig(new Secret(text), SOURCE),
        (error: unknown) => {
          assert.ok(error instanceof StateConflictError, String(error));
          assert.match(
            error.message,
            /^the admin kubeconfig in secret kboot\/prod\/admin\.conf is malformed: /,
          );
          assert.match(error.message, message);
          for (const secret of secrets)
            assert.ok(!error.message.includes(secret), 'message leaks a credential');
          return true;
        },
      );
    });
  }
});

describe('entryNames', () => {
  it('renames for the cluster', () => {
    assert.deepEqual(entryNames('prod'), { cluster: 'prod', user: 'prod-admin', context: 'prod' });
  });
  it('takes the context name given', () => {
    assert.deepEqual(entryNames('prod', 'prod-eu'), {
      cluster: 'prod',
      user: 'prod-admin',
      context: 'prod-eu',
    });
  });
});
