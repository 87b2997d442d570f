/** The CLI surface through the built binary: help, usage errors, bad option values. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKboot } from '../support/cli.js';

describe('kboot CLI', () => {
  it('prints help on stdout and exits 0', async () => {
    const result = await runKboot(['--help']);
    assert.equal(result.exitCode, 0);
    assert.match(result.stdout, /Usage: kboot/);
    for (const command of [
      'boot',
      'bootstrap-master',
      'join-master',
      'join-node',
      'rotate',
      'leave',
      'status',
      'kubeconfig',
      'ami',
      'cidr',
      'cluster',
      'iam-policy',
      'completion',
      'version',
    ]) {
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`), `help lists ${command}`);
    }
    assert.equal(result.stderr, '');
  });

  it('reports a usage error in one line with exit code 2 and nothing on stdout', async () => {
    const result = await runKboot(['join-node', '--no-such-flag'], { env: { KBOOT_LOG_FORMAT: 'pretty' } });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      "kboot: error: unknown option '--no-such-flag' (run 'kboot join-node --help')\n",
    );
  });

  it('says which option value was wrong and what to give instead, before doing anything', async () => {
    const result = await runKboot(['leave', '--drain-timeout', 'soon']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.error?.code, 'usage');
    assert.match(result.error?.msg ?? '', /invalid --drain-timeout "soon"/);
    assert.match(result.error?.hint ?? '', /a duration like/);
  });

  it('adds the stack only at --log-level debug', async () => {
    const plain = await runKboot(['leave', '--drain-timeout', 'soon'], {
      env: { KBOOT_LOG_FORMAT: 'pretty' },
    });
    assert.equal(plain.stderr.trim().split('\n').length, 1);
    const debug = await runKboot(['leave', '--drain-timeout', 'soon', '--log-level', 'debug'], {
      env: { KBOOT_LOG_FORMAT: 'pretty' },
    });
    assert.match(debug.stderr, /UsageError: .*\n\s+at /);
  });
});
