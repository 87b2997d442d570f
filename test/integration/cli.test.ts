/** The CLI surface through the built binary: help, usage errors, commands not in this version. */

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

  it('says a command is not available in this version instead of pretending to succeed', async () => {
    const result = await runKboot(['leave']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.error?.code, 'not-available');
    assert.match(result.error?.msg ?? '', /'kboot leave' is not available in kboot \S+/);
  });

  it('adds the stack only at --log-level debug', async () => {
    const plain = await runKboot(['leave'], { env: { KBOOT_LOG_FORMAT: 'pretty' } });
    assert.equal(plain.stderr.trim().split('\n').length, 1);
    const debug = await runKboot(['leave', '--log-level', 'debug'], { env: { KBOOT_LOG_FORMAT: 'pretty' } });
    assert.match(debug.stderr, /NotAvailableError: .*\n\s+at /);
  });
});
