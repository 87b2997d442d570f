import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../../src/core/errors.js';
import { resolveKubeconfigPath } from '../../../../src/domain/kubeconfig/path.js';

describe('resolveKubeconfigPath', () => {
  const cases: {
    name: string;
    file?: string;
    env: Record<string, string>;
    existing?: string[];
    expected: { file: string; from: string };
  }[] = [
    {
      name: '--file wins over everything',
      file: 'my.yaml',
      env: { KUBECONFIG: '/a', HOME: '/home/me' },
      expected: { file: '/work/my.yaml', from: '--file' },
    },
    {
      name: 'an absolute --file',
      file: '/etc/k.yaml',
      env: {},
      expected: { file: '/etc/k.yaml', from: '--file' },
    },
    {
      name: 'a single KUBECONFIG file, even missing',
      env: { KUBECONFIG: '/k/one', HOME: '/home/me' },
      expected: { file: '/k/one', from: 'KUBECONFIG' },
    },
    {
      name: 'the first KUBECONFIG file that exists',
      env: { KUBECONFIG: '/k/a:/k/b:/k/c' },
      existing: ['/k/b', '/k/c'],
      expected: { file: '/k/b', from: 'KUBECONFIG' },
    },
    {
      name: 'the first file when it exists',
      env: { KUBECONFIG: '/k/a:/k/b' },
      existing: ['/k/a', '/k/b'],
      expected: { file: '/k/a', from: 'KUBECONFIG' },
    },
    {
      name: 'the last KUBECONFIG file when none exists (as kubectl)',
      env: { KUBECONFIG: '/k/a:/k/b' },
      expected: { file: '/k/b', from: 'KUBECONFIG' },
    },
    {
      name: 'empty KUBECONFIG entries are skipped',
      env: { KUBECONFIG: '::/k/a:' },
      expected: { file: '/k/a', from: 'KUBECONFIG' },
    },
    {
      name: 'a relative KUBECONFIG entry',
      env: { KUBECONFIG: 'kube/config' },
      expected: { file: '/work/kube/config', from: 'KUBECONFIG' },
    },
    {
      name: 'an empty KUBECONFIG falls back to HOME',
      env: { KUBECONFIG: '', HOME: '/home/me' },
      expected: { file: '/home/me/.kube/config', from: 'HOME' },
    },
    {
      name: '~/.kube/config',
      env: { HOME: '/home/me' },
      expected: { file: '/home/me/.kube/config', from: 'HOME' },
    },
  ];
  for (const { name, file, env, existing = [], expected } of cases) {
    it(name, () => {
      const exists = (candidate: string) => existing.includes(candidate);
      assert.deepEqual(resolveKubeconfigPath({ file, env, cwd: '/work', exists }), expected);
    });
  }

  it('asks for --file when neither KUBECONFIG nor HOME is set', () => {
    assert.throws(
      () => resolveKubeconfigPath({ file: undefined, env: {}, cwd: '/', exists: () => false }),
      (error: unknown) =>
        error instanceof UsageError &&
        /neither KUBECONFIG nor HOME/.test(error.message) &&
        /--file/.test(error.hint ?? ''),
    );
  });
});
