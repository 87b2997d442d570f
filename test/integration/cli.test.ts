/** The CLI surface through the built binary: help, usage errors, bad option values. */

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runKboot } from '../support/cli.js';
import { tempDir } from '../support/paths.js';

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
      'leave-controller',
      'etcd',
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

  it('config check refuses what the cluster record would, out-of-bounds durations and alias bombs: exit 2', async () => {
    const root = tempDir('kboot-config-check-');
    mkdirSync(path.join(root, 'etc', 'kboot'), { recursive: true });
    const laughs = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (const [i, key] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries()) {
      laughs.push(`${key}: &${key} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`);
    }
    const cases: [string, RegExp][] = [
      ['podCidr: 999.999.999.999/99\n', /field podCidr: expected a CIDR such as 10\.244\.0\.0\/16/],
      ['apiEndpoint: host:99999\n', /field apiEndpoint: expected a host or host:port/],
      [
        'timeouts: { lease: 99999999d }\n',
        /field timeouts\.lease: expected a duration between 30s and 1h, got 99999999d/,
      ],
      ['timeouts: { lease: 0s }\n', /field timeouts\.lease: expected a duration between 30s and 1h, got 0s/],
      [`${laughs.join('\n')}\n`, /aliases expand too far/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(path.join(root, 'etc', 'kboot', 'config.yaml'), text);
      const result = await runKboot(['config', 'check'], { env: { KBOOT_ROOT: root } });
      assert.equal(result.exitCode, 2, `${text}: ${result.stderr}`);
      assert.match(result.error?.msg ?? '', message);
      assert.equal(result.error?.code, 'config');
    }
    writeFileSync(
      path.join(root, 'etc', 'kboot', 'config.yaml'),
      'podCidr: 10.244.0.0/16\ntimeouts: { lease: 30s }\n',
    );
    const valid = await runKboot(['config', 'check'], { env: { KBOOT_ROOT: root } });
    assert.equal(valid.exitCode, 0, valid.stderr);
  });

  it('refuses a duration flag or KBOOT_POLL_MS out of bounds, naming it and its bounds', async () => {
    const drain = await runKboot(['leave', '--drain-timeout', '30d']);
    assert.equal(drain.exitCode, 2);
    assert.match(drain.error?.msg ?? '', /--drain-timeout must be between 1s and 24d, got 30d/);
    const poll = await runKboot(['join-node', '--dry-run'], {
      env: { KBOOT_POLL_MS: '0', KBOOT_ROOT: tempDir() },
    });
    assert.equal(poll.exitCode, 2, poll.stderr);
    assert.match(
      poll.error?.msg ?? '',
      /KBOOT_POLL_MS must be a whole number of milliseconds from 10 to 600000, got "0"/,
    );
  });
});
