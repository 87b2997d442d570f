import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { ConfigError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import {
  entryNames,
  type KubeconfigEntries,
  parseAdminKubeconfig,
} from '../../../../src/domain/kubeconfig/admin.js';
import { mergeKubeconfig, renderKubeconfig } from '../../../../src/domain/kubeconfig/merge.js';
import { adminConf, OTHER_CLUSTERS_KUBECONFIG } from './fixtures.js';

type Named = { name: string; [key: string]: unknown };
interface Kubeconfig {
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  'current-context'?: string;
  [key: string]: unknown;
}

const fixture = adminConf();
const admin = parseAdminKubeconfig(new Secret(fixture.text), 'secret kboot/prod/admin.conf');
const prod: KubeconfigEntries = { names: entryNames('prod'), admin };

function merge(existing: string | undefined, entries = prod, setCurrent = false) {
  return mergeKubeconfig(existing, entries, { setCurrent, source: '/home/me/.kube/config' });
}

function parse(text: string | Secret<string>): Kubeconfig {
  return YAML.parse(typeof text === 'string' ? text : text.reveal()) as Kubeconfig;
}

function byName(list: Named[], name: string): Named | undefined {
  return list.find((entry) => entry.name === name);
}

function serverOf(config: Kubeconfig, name: string): unknown {
  return (byName(config.clusters, name)?.cluster as Record<string, unknown> | undefined)?.server;
}

const PROD_CLUSTER = { 'certificate-authority-data': fixture.caData, server: fixture.server };
const PROD_USER = { 'client-certificate-data': fixture.certData, 'client-key-data': fixture.keyData };

describe('mergeKubeconfig into a kubeconfig with two other clusters', () => {
  const before = parse(OTHER_CLUSTERS_KUBECONFIG);
  const result = merge(OTHER_CLUSTERS_KUBECONFIG);
  const after = parse(result.text);

  it('adds the renamed cluster, user and context', () => {
    assert.equal(result.changed, true);
    assert.deepEqual(byName(after.clusters, 'prod'), { cluster: PROD_CLUSTER, name: 'prod' });
    assert.deepEqual(byName(after.users, 'prod-admin'), { name: 'prod-admin', user: PROD_USER });
    assert.deepEqual(byName(after.contexts, 'prod'), {
      context: { cluster: 'prod', user: 'prod-admin' },
      name: 'prod',
    });
    assert.deepEqual(result.changes, ['cluster prod', 'user prod-admin', 'context prod']);
  });

  it('leaves every other entry and top-level field as it was', () => {
    for (const list of ['clusters', 'users', 'contexts'] as const) {
      for (const name of ['dev', 'staging', 'dev-user', 'staging-sso']) {
        assert.deepEqual(byName(after[list], name), byName(before[list], name), `${list} ${name}`);
      }
      assert.equal(after[list].length, before[list].length + 1);
    }
    for (const key of ['apiVersion', 'kind', 'preferences']) assert.deepEqual(after[key], before[key]);
  });

  it('keeps the current context when not asked to change it', () => {
    assert.equal(after['current-context'], 'dev');
    assert.equal(result.currentContext, 'dev');
  });

  it('keeps comments, key order and the text of untouched entries', () => {
    const text = result.text.reveal();
    assert.ok(text.startsWith('# my clusters — managed by hand\napiVersion: v1\nclusters:\n- cluster:\n'));
    assert.match(text, /proxy-url: http:\/\/proxy\.internal:3128 # via the bastion/);
    assert.ok(text.includes('args: [eks, get-token, --cluster-name, staging]'));
    assert.match(text, /last-update: "2024-05-01"/);
    const keys = Object.keys(after);
    assert.deepEqual(keys, Object.keys(before));
  });

  it('only adds lines: the original text survives byte for byte, in order', () => {
    const output = result.text.reveal().split('\n');
    const original = OTHER_CLUSTERS_KUBECONFIG.split('\n');
    const added: string[] = [];
    let next = 0;
    for (const line of output) {
      if (line === original[next]) next += 1;
      else added.push(line);
    }
    assert.equal(next, original.length, `original line ${next + 1} is missing: ${original[next]}`);
    assert.deepEqual(
      added.map((line) => line.replace(/: [A-Za-z0-9+/=]{40,}$/, ': <data>')),
      [
        '- cluster:',
        '    certificate-authority-data: <data>',
        `    server: ${fixture.server}`,
        '  name: prod',
        '- context:',
        '    cluster: prod',
        '    user: prod-admin',
        '  name: prod',
        '- name: prod-admin',
        '  user:',
        '    client-certificate-data: <data>',
        '    client-key-data: <data>',
      ],
    );
  });

  it('makes the context current with setCurrent', () => {
    const current = merge(OTHER_CLUSTERS_KUBECONFIG, prod, true);
    assert.equal(parse(current.text)['current-context'], 'prod');
    assert.equal(current.currentContext, 'prod');
    assert.ok(current.changes.includes('current-context'));
  });

  it('is idempotent: a second merge changes nothing', () => {
    const second = merge(result.text.reveal());
    assert.equal(second.changed, false);
    assert.deepEqual(second.changes, []);
    assert.equal(second.text.reveal(), result.text.reveal());
    const third = merge(merge(OTHER_CLUSTERS_KUBECONFIG, prod, true).text.reveal(), prod, true);
    assert.equal(third.changed, false);
  });

  it('lets several kboot clusters coexist', () => {
    const other = adminConf('https://10.1.0.10:6443');
    const staging: KubeconfigEntries = {
      names: entryNames('kb-staging'),
      admin: parseAdminKubeconfig(new Secret(other.text), 'test'),
    };
    const both = parse(merge(result.text.reveal(), staging).text);
    assert.deepEqual(
      both.contexts.map((c) => c.name),
      ['dev', 'staging', 'prod', 'kb-staging'],
    );
    assert.equal(serverOf(both, 'prod'), fixture.server);
    assert.equal(serverOf(both, 'kb-staging'), 'https://10.1.0.10:6443');
  });

  it('writes the context under the name given', () => {
    const named = parse(
      merge(OTHER_CLUSTERS_KUBECONFIG, { names: entryNames('prod', 'prod-admin@eu'), admin }).text,
    );
    assert.deepEqual(byName(named.contexts, 'prod-admin@eu')?.context, {
      cluster: 'prod',
      user: 'prod-admin',
    });
    assert.equal(byName(named.contexts, 'prod'), undefined);
  });
});

describe('mergeKubeconfig updating entries it wrote before', () => {
  const stale = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://old.example.com:6443
    certificate-authority: /etc/old-ca.crt
    tls-server-name: api.prod.internal
- name: prod
  cluster:
    server: https://duplicate.example.com
users:
- name: prod-admin
  user:
    token: old-token-value
contexts:
- name: prod
  context:
    cluster: prod
    user: someone-else
    namespace: payments
current-context: prod
`;
  const result = merge(stale);
  const after = parse(result.text);

  it('updates the cluster fields it owns and keeps the ones you added', () => {
    assert.deepEqual(after.clusters, [
      { name: 'prod', cluster: { ...PROD_CLUSTER, 'tls-server-name': 'api.prod.internal' } },
    ]);
  });

  it('drops a CA file that would clash with the CA data', () => {
    assert.ok(!Object.hasOwn(after.clusters[0]?.cluster ?? {}, 'certificate-authority'));
    assert.ok(Object.hasOwn(after.clusters[0]?.cluster ?? {}, 'certificate-authority-data'));
  });

  it('replaces the user whole, so old credentials do not linger', () => {
    assert.deepEqual(after.users, [{ name: 'prod-admin', user: PROD_USER }]);
  });

  it('points the context at the cluster and user, keeping its namespace', () => {
    assert.deepEqual(after.contexts, [
      { name: 'prod', context: { cluster: 'prod', user: 'prod-admin', namespace: 'payments' } },
    ]);
    assert.deepEqual(result.changes, ['cluster prod', 'user prod-admin', 'context prod']);
  });

  it('then settles', () => assert.equal(merge(result.text.reveal()).changed, false));
});

describe('mergeKubeconfig into a missing or empty kubeconfig', () => {
  for (const [name, existing] of [
    ['no file', undefined],
    ['an empty file', ''],
    ['whitespace', '\n\n'],
    ['only a comment', '# nothing yet\n'],
  ] as const) {
    it(`builds a whole kubeconfig from ${name}, with the context current`, () => {
      const result = merge(existing);
      const config = parse(result.text);
      assert.equal(config.apiVersion, 'v1');
      assert.equal(config.kind, 'Config');
      assert.equal(config['current-context'], 'prod');
      assert.deepEqual(config.clusters, [{ cluster: PROD_CLUSTER, name: 'prod' }]);
      assert.deepEqual(config.users, [{ name: 'prod-admin', user: PROD_USER }]);
      assert.equal(result.changed, true);
      assert.equal(merge(result.text.reveal()).changed, false);
    });
  }

  for (const [name, existing] of [
    [
      'null lists (as kubectl writes an empty config)',
      'apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: ""\nkind: Config\npreferences: {}\nusers: null\n',
    ],
    ['no lists at all', 'apiVersion: v1\nkind: Config\n'],
    ['empty flow lists', 'apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n'],
  ] as const) {
    it(`fills ${name}`, () => {
      const result = merge(existing);
      const config = parse(result.text);
      assert.equal(config.clusters.length, 1);
      assert.equal(config.users.length, 1);
      assert.equal(config.contexts.length, 1);
      assert.equal(config['current-context'], 'prod', 'a file without a current context gets ours');
      assert.doesNotMatch(result.text.reveal(), /clusters: \[/, 'lists are written as blocks');
    });
  }
});

describe('mergeKubeconfig style', () => {
  it("writes kubectl's style (sequences not indented) by default", () => {
    assert.match(renderKubeconfig(prod).reveal(), /^clusters:\n- cluster:\n/m);
  });
  it('keeps indented sequences when the file uses them', () => {
    const indented = 'apiVersion: v1\nclusters:\n  - name: dev\n    cluster:\n      server: https://dev\n';
    const text = merge(indented).text.reveal();
    assert.match(text, /^clusters:\n {2}- name: dev\n/m);
  });
  it('never folds long values', () => {
    const text = renderKubeconfig(prod).reveal();
    assert.ok(text.includes(`client-key-data: ${fixture.keyData}\n`));
  });
});

describe('renderKubeconfig', () => {
  it('gives a kubeconfig with only the renamed entries, context current', () => {
    const config = parse(renderKubeconfig(prod));
    assert.deepEqual(config, {
      apiVersion: 'v1',
      clusters: [{ cluster: PROD_CLUSTER, name: 'prod' }],
      contexts: [{ context: { cluster: 'prod', user: 'prod-admin' }, name: 'prod' }],
      'current-context': 'prod',
      kind: 'Config',
      preferences: {},
      users: [{ name: 'prod-admin', user: PROD_USER }],
    });
  });
});

describe('mergeKubeconfig refuses what is not a kubeconfig', () => {
  const cases: { name: string; text: string; message: RegExp }[] = [
    {
      name: 'broken YAML',
      text: 'users:\n- name: a\n  user: {token: secret-token-here\n',
      message: /is not valid YAML \(line \d+, column \d+\)$/,
    },
    { name: 'a top-level list', text: '- a\n- b\n', message: /its top level is not a mapping/ },
    { name: 'another kind', text: 'apiVersion: v1\nkind: Pod\n', message: /its kind is "Pod", not "Config"/ },
    {
      name: 'clusters as a mapping',
      text: 'clusters:\n  dev: {server: x}\n',
      message: /clusters is not a list/,
    },
    { name: 'several documents', text: 'a: 1\n---\nb: 2\n', message: /is not valid YAML/ },
  ];
  for (const { name, text, message } of cases) {
    it(`refuses ${name}, naming the file and quoting nothing`, () => {
      assert.throws(
        () => merge(text),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /^\/home\/me\/\.kube\/config /);
          assert.match(error.message, message);
          assert.ok(!error.message.includes('secret-token-here'));
          assert.match(error.hint ?? '', /--file/);
          return true;
        },
      );
    });
  }
});
