import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { mergeOverrides, mergePatch, parseOverrides } from '../../../../src/domain/kubeadm/overrides.js';
import type { KubeadmDocument } from '../../../../src/domain/kubeadm/types.js';

describe('mergePatch (RFC 7386)', () => {
  const table: [string, unknown, unknown, unknown][] = [
    [
      'merges mappings key by key',
      { a: 1, b: { c: 2, d: 3 } },
      { b: { d: 4, e: 5 } },
      { a: 1, b: { c: 2, d: 4, e: 5 } },
    ],
    ['replaces arrays as a whole', { a: [1, 2, 3] }, { a: [9] }, { a: [9] }],
    ['removes a key given null', { a: 1, b: 2 }, { b: null }, { a: 1 }],
    ['removes a nested key given null', { a: { b: 1, c: 2 } }, { a: { c: null } }, { a: { b: 1 } }],
    ['replaces a scalar with a mapping', { a: 'x' }, { a: { b: 1 } }, { a: { b: 1 } }],
    ['replaces a mapping with a scalar', { a: { b: 1 } }, { a: 'x' }, { a: 'x' }],
    ['keeps empty arrays (taints: [] means no taints)', { a: [1] }, { a: [] }, { a: [] }],
    ['adds new keys', {}, { a: { b: [1] } }, { a: { b: [1] } }],
  ];
  for (const [name, target, patch, expected] of table) {
    it(name, () => {
      const before = structuredClone(target);
      assert.deepEqual(mergePatch(target, patch), expected);
      assert.deepEqual(target, before, 'the target is not modified');
    });
  }

  it('ignores __proto__ keys', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const merged = mergePatch({}, patch) as Record<string, unknown>;
    assert.deepEqual(merged, { a: 1 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('parseOverrides', () => {
  it('reads several documents and skips empty ones', () => {
    const overrides = parseOverrides(
      'kind: ClusterConfiguration\na: 1\n---\n---\nkind: JoinConfiguration\n',
      'p.yaml',
    );
    assert.deepEqual(
      overrides.map((override) => [override.source, override.document.kind]),
      [
        ['p.yaml (document 1)', 'ClusterConfiguration'],
        ['p.yaml (document 3)', 'JoinConfiguration'],
      ],
    );
  });

  const bad: [string, string, RegExp][] = [
    ['invalid YAML', 'kind: [', /p\.yaml is not valid YAML/],
    ['duplicate keys', 'kind: A\nkind: B\n', /not valid YAML/],
    ['a list', '- kind: ClusterConfiguration\n', /p\.yaml is not a mapping/],
    ['no kind', 'apiServer: {}\n', /p\.yaml has no kind/],
    ['an unknown kind', 'kind: ClusterConfig\n', /p\.yaml has unknown kind "ClusterConfig"/],
    ['a non-string apiVersion', 'kind: JoinConfiguration\napiVersion: 4\n', /apiVersion must be a string/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, naming the file`, () => {
      assert.throws(
        () => parseOverrides(text, 'p.yaml'),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

const rendered = (): KubeadmDocument[] => [
  {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'InitConfiguration',
    nodeRegistration: { name: 'n', kubeletExtraArgs: [{ name: 'cloud-provider', value: 'external' }] },
  },
  { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration', clusterName: 'demo' },
];

describe('mergeOverrides', () => {
  it('applies overrides in order over the document of their kind, keeping apiVersion and kind first', () => {
    const documents = rendered();
    const merged = mergeOverrides(documents, [
      ...parseOverrides(
        'kind: ClusterConfiguration\nclusterName: first\nnetworking: {dnsDomain: a.local}\n',
        'one',
      ),
      ...parseOverrides('kind: ClusterConfiguration\nclusterName: second\n', 'two'),
    ]);
    assert.deepEqual(merged[1], {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: 'second',
      networking: { dnsDomain: 'a.local' },
    });
    assert.deepEqual(Object.keys(merged[1] as object).slice(0, 2), ['apiVersion', 'kind']);
    assert.deepEqual(documents, rendered(), 'the input documents are not modified');
  });

  it('replaces a v1beta4 argument list as a whole', () => {
    const merged = mergeOverrides(
      rendered(),
      parseOverrides(
        'kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    - {name: v, value: "4"}\n',
        'f',
      ),
    );
    assert.deepEqual((merged[0]!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs, [
      { name: 'v', value: '4' },
    ]);
  });

  it('refuses a v1beta3-style argument map in a v1beta4 document', () => {
    assert.throws(
      () =>
        mergeOverrides(
          rendered(),
          parseOverrides(
            'kind: ClusterConfiguration\napiServer:\n  extraArgs:\n    audit-log-path: /x\n',
            'f.yaml',
          ),
        ),
      /f\.yaml: ClusterConfiguration\.apiServer\.extraArgs must be a list of \{name, value\} in kubeadm\.k8s\.io\/v1beta4/,
    );
  });

  it('refuses a v1beta4-style argument list in a v1beta3 document', () => {
    const v1beta3: KubeadmDocument[] = [
      {
        apiVersion: 'kubeadm.k8s.io/v1beta3',
        kind: 'JoinConfiguration',
        nodeRegistration: { kubeletExtraArgs: {} },
      },
    ];
    assert.throws(
      () =>
        mergeOverrides(
          v1beta3,
          parseOverrides(
            'kind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    - {name: v, value: "4"}\n',
            'f',
          ),
        ),
      /must be a map of name: value in kubeadm\.k8s\.io\/v1beta3/,
    );
  });

  it('refuses an override written for another API version', () => {
    assert.throws(
      () =>
        mergeOverrides(
          rendered(),
          parseOverrides('apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n', 'old.yaml'),
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        /old\.yaml: the ClusterConfiguration override is written for kubeadm\.k8s\.io\/v1beta3, but kboot renders kubeadm\.k8s\.io\/v1beta4/.test(
          error.message,
        ),
    );
  });

  it('adds documents of appendable kinds with their default apiVersion, and ignores other absent kinds', () => {
    const merged = mergeOverrides(
      rendered(),
      [
        ...parseOverrides('kind: KubeProxyConfiguration\nmode: ipvs\nipvs: null\n', 'proxy'),
        ...parseOverrides('kind: JoinConfiguration\ncaCertPath: /x\n', 'join'),
      ],
      { appendKinds: ['KubeletConfiguration', 'KubeProxyConfiguration'] },
    );
    assert.deepEqual(
      merged.map((document) => document.kind),
      ['InitConfiguration', 'ClusterConfiguration', 'KubeProxyConfiguration'],
    );
    assert.deepEqual(merged[2], {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'ipvs',
    });
  });

  it('ignores kinds the command does not read when nothing is appendable', () => {
    const merged = mergeOverrides(
      rendered(),
      parseOverrides('kind: KubeletConfiguration\nmaxPods: 10\n', 'k'),
    );
    assert.equal(merged.length, 2);
  });
});
