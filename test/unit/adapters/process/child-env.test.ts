import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnvironment, extraChildEnvNames } from '../../../../src/adapters/process/child-env.js';

const KBOOT_ENV = {
  PATH: '/usr/bin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  LC_MESSAGES: 'C',
  TZ: 'UTC',
  HTTPS_PROXY: 'http://proxy:3128',
  https_proxy: 'http://proxy:3128',
  NO_PROXY: '169.254.169.254,.internal',
  no_proxy: '169.254.169.254,.internal',
  HTTP_PROXY: 'http://proxy:3128',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'token',
  AWS_REGION: 'us-east-1',
  KUBECONFIG: '/root/.kube/config',
  KBOOT_TABLE: 'kboot',
  SSH_AUTH_SOCK: '/tmp/agent',
  FAKE_KUBEADM_LOG: '/tmp/log',
};

describe('childEnvironment', () => {
  it('passes PATH, HOME, the locale, TZ and the proxy settings, and nothing else', () => {
    const { env, refused } = childEnvironment(KBOOT_ENV);
    assert.deepEqual(Object.keys(env).sort(), [
      'HOME',
      'HTTPS_PROXY',
      'HTTP_PROXY',
      'LANG',
      'LC_ALL',
      'LC_MESSAGES',
      'NO_PROXY',
      'PATH',
      'TZ',
      'https_proxy',
      'no_proxy',
    ]);
    assert.equal(env.PATH, '/usr/bin:/bin');
    assert.deepEqual(refused, []);
  });

  it('passes the variables KBOOT_CHILD_ENV names, never AWS_* ones', () => {
    const { env, refused } = childEnvironment({
      ...KBOOT_ENV,
      KBOOT_CHILD_ENV: 'FAKE_KUBEADM_LOG, AWS_SECRET_ACCESS_KEY,UNSET_ONE',
    });
    assert.equal(env.FAKE_KUBEADM_LOG, '/tmp/log');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
    assert.equal('UNSET_ONE' in env, false);
    assert.deepEqual(refused, ['AWS_SECRET_ACCESS_KEY']);
  });

  it('adds what kboot sets for the child itself', () => {
    const { env } = childEnvironment(KBOOT_ENV, { KBOOT_ROOT: '/tmp/root' });
    assert.equal(env.KBOOT_ROOT, '/tmp/root');
    assert.equal(env.KBOOT_TABLE, undefined);
  });

  it('reads KBOOT_CHILD_ENV as names separated by commas or spaces', () => {
    assert.deepEqual(extraChildEnvNames(' A,B  C,,'), ['A', 'B', 'C']);
    assert.deepEqual(extraChildEnvNames(undefined), []);
  });
});
