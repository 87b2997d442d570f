/**
 * The kubectl adapter, run against the recording kubectl (test/fixtures/bin/kubectl) and tiny
 * scripts that misbehave: argv shape, stdin, timeout, error mapping, secrets kept out of argv and
 * out of error messages.
 */

import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { kubectlRunner, kubectlSubcommand } from '../../../../src/adapters/process/kubectl.js';
import { ExitCode, InternalError, KubectlError } from '../../../../src/core/errors.js';
import { REDACTED, redactText } from '../../../../src/core/secrets.js';
import { withTestChildEnv } from '../../../support/child-env.js';
import { fakeKubectlPath, readKubectlLog } from '../../../support/kubectl-log.js';
import { tempDir } from '../../../support/paths.js';
import { silentLogger } from '../../../support/silent-logger.js';

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a3ViZS1zeXN0ZW06ZGVmYXVsdCJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

function world(extraEnv: Record<string, string> = {}) {
  const dir = tempDir('kboot-kubectl-');
  const kubeconfigPath = path.join(dir, 'admin.conf');
  writeFileSync(kubeconfigPath, 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
  const log = path.join(dir, 'kubectl.jsonl');
  const env = {
    PATH: process.env.PATH ?? '',
    FAKE_KUBECTL_LOG: log,
    FAKE_KUBECTL_STATE_DIR: path.join(dir, 'api'),
    ...extraEnv,
  };
  const runner = (command = fakeKubectlPath(), overrides: Record<string, string> = {}) =>
    kubectlRunner({ command, logger: silentLogger(), env: withTestChildEnv({ ...env, ...overrides }) });
  return { dir, kubeconfigPath, log, runner };
}

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const NAMESPACE = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n';

describe('kubectl adapter', () => {
  it('passes the kubeconfig as a flag and the manifest through stdin', async () => {
    const w = world();
    const result = await w.runner().run(['apply', '--server-side', '--field-manager=kboot', '-f', '-'], {
      kubeconfigPath: w.kubeconfigPath,
      stdin: NAMESPACE,
      timeoutMs: 20_000,
    });
    assert.equal(result.stdout, 'namespace/demo serverside-applied\n');
    const [call] = readKubectlLog(w.log);
    assert.ok(call);
    assert.deepEqual(call.argv, [
      '--kubeconfig',
      w.kubeconfigPath,
      'apply',
      '--server-side',
      '--field-manager=kboot',
      '-f',
      '-',
    ]);
    assert.equal(call.stdin, NAMESPACE);
    assert.deepEqual(call.kubeconfig, { path: w.kubeconfigPath, exists: true, mode: '0600' });
    assert.deepEqual(
      call.objects.map((o) => [o.kind, o.name, o.result]),
      [['Namespace', 'demo', 'created']],
    );
  });

  it('does not let an ambient KUBECONFIG decide: the flag is always given', async () => {
    const w = world();
    await w
      .runner(fakeKubectlPath(), { KUBECONFIG: '/nonexistent/config' })
      .run(['get', 'namespaces', '-o', 'name'], { kubeconfigPath: w.kubeconfigPath, timeoutMs: 20_000 });
    assert.equal(readKubectlLog(w.log)[0]?.kubeconfig?.path, w.kubeconfigPath);
  });

  it('maps a non-zero exit to KubectlError (exit 10) ending with kubectl’s stderr', async () => {
    const w = world({ FAKE_KUBECTL_FAIL_ON: 'apply' });
    const error = await w
      .runner()
      .run(['apply', '--server-side', '-f', '-'], {
        kubeconfigPath: w.kubeconfigPath,
        stdin: NAMESPACE,
        timeoutMs: 20_000,
      })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof KubectlError);
    assert.equal(error.exitCode, ExitCode.kubectlFailed);
    assert.equal(error.exitCode, 10);
    assert.match(error.message, /^kubectl apply exited 1: Error from server \(InternalError\)/);
    assert.match(error.hint ?? '', /journalctl/);
  });

  it('times out, kills kubectl and says so', async () => {
    const w = world({ FAKE_KUBECTL_SLEEP_MS: '10000' });
    const startedMs = Date.now();
    await assert.rejects(
      w.runner().run(['get', 'nodes'], { kubeconfigPath: w.kubeconfigPath, timeoutMs: 300 }),
      (e: unknown) => e instanceof KubectlError && /^kubectl get nodes timed out after 0s/.test(e.message),
    );
    assert.ok(Date.now() - startedMs < 5000, 'did not wait for kubectl');
  });

  it('stops when the signal aborts', async () => {
    const w = world({ FAKE_KUBECTL_SLEEP_MS: '10000' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM')), 200);
    await assert.rejects(
      w.runner().run(['get', 'nodes'], {
        kubeconfigPath: w.kubeconfigPath,
        timeoutMs: 20_000,
        signal: controller.signal,
      }),
      (e: unknown) => e instanceof KubectlError && /was stopped/.test(e.message),
    );
  });

  it('says how to fix a missing kubectl', async () => {
    const w = world();
    await assert.rejects(
      w.runner(path.join(w.dir, 'no-such-kubectl')).run(['get', 'nodes'], {
        kubeconfigPath: w.kubeconfigPath,
        timeoutMs: 5000,
      }),
      (e: unknown) =>
        e instanceof KubectlError &&
        /could not run \(ENOENT\)/.test(e.message) &&
        /KBOOT_KUBECTL/.test(e.hint ?? ''),
    );
  });

  it('scrubs secrets kubectl printed from the error message', async () => {
    const w = world();
    const noisy = script(
      w.dir,
      'kubectl',
      `echo "using token ${JWT}" >&2\necho "token: abcdef.0123456789abcdef" >&2\nexit 1`,
    );
    const error = await w
      .runner(noisy)
      .run(['get', 'nodes'], { kubeconfigPath: w.kubeconfigPath, timeoutMs: 5000 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof KubectlError);
    assert.ok(!error.message.includes(JWT), error.message);
    assert.ok(!error.message.includes('0123456789abcdef'), error.message);
    assert.ok(error.message.includes(REDACTED));
  });

  it('returns stdout untouched (a token is the caller’s to wrap)', async () => {
    const w = world();
    const result = await w
      .runner()
      .run(['create', 'token', 'default', '-n', 'kube-system', '--duration', '10m'], {
        kubeconfigPath: w.kubeconfigPath,
        timeoutMs: 20_000,
      });
    assert.match(result.stdout.trim(), /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    assert.equal(redactText(result.stdout.trim()), REDACTED);
  });

  for (const [label, arg] of [
    ['a bootstrap token', '--token=abcdef.0123456789abcdef'],
    ['a JWT', `--token=${JWT}`],
    ['a certificate key', 'f'.repeat(64)],
  ] as const) {
    it(`refuses ${label} in argv without running kubectl`, async () => {
      const w = world();
      await assert.rejects(
        w.runner().run(['get', 'nodes', arg], { kubeconfigPath: w.kubeconfigPath, timeoutMs: 5000 }),
        (e: unknown) =>
          e instanceof InternalError && !e.message.includes(arg) && /argument 3/.test(e.message),
      );
      assert.deepEqual(readKubectlLog(w.log), []);
    });
  }

  const subcommands: [string[], string][] = [
    [['apply', '--server-side', '-f', '-'], 'apply'],
    [['-n', 'kube-system', 'create', 'token', 'kboot'], 'create token'],
    [['get', 'nodes', '-o', 'json'], 'get nodes'],
    [['drain', 'ip-10-0-0-1', '--ignore-daemonsets'], 'drain ip-10-0-0-1'],
    [['--output', 'name', 'get'], 'get'],
  ];
  for (const [args, expected] of subcommands) {
    it(`names ${JSON.stringify(args)} "${expected}"`, () => assert.equal(kubectlSubcommand(args), expected));
  }
});
