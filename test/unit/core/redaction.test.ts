/**
 * Secrets never reach a log line or an error message, at any level: every kind of secret kboot
 * handles, logged every way a careless caller could, at trace.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/report.js';
import { InternalError, KubeadmError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/logger.js';
import { REDACTED, redactText, Secret } from '../../../src/core/secrets.js';

const privateKey = execFileSync(
  'openssl',
  ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  {
    encoding: 'utf8',
  },
);
const rsaKey = execFileSync('openssl', ['genrsa', '2048'], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'ignore'],
});
const bootstrapToken = 'abcdef.0123456789abcdef';
const certificateKey = 'f'.repeat(16) + '0123456789abcdef'.repeat(3);
const clientKeyData = Buffer.from(privateKey).toString('base64');
const adminConf = `apiVersion: v1
kind: Config
users:
- name: kubernetes-admin
  user:
    client-certificate-data: ${Buffer.from('cert').toString('base64')}
    client-key-data: ${clientKeyData}
`;
const secretString = JSON.stringify({ token: bootstrapToken, caCertHashes: ['sha256:00'] });

/** The substrings that must never appear. */
const NEEDLES = [
  bootstrapToken,
  certificateKey,
  clientKeyData.slice(0, 40),
  privateKey.split('\n')[1] as string,
  rsaKey.split('\n')[1] as string,
  'BEGIN PRIVATE KEY',
  'BEGIN RSA PRIVATE KEY',
];

function assertClean(text: string): void {
  for (const needle of NEEDLES)
    assert.ok(!text.includes(needle), `leaked: ${needle.slice(0, 12)}… in ${text.slice(0, 300)}`);
}

async function captureLogs(log: (logger: Awaited<ReturnType<typeof createLogger>>) => void): Promise<string> {
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const logger = await createLogger({ level: 'trace', format: 'json', destination });
  log(logger);
  return text;
}

describe('redaction', () => {
  it('keeps every kind of secret out of log lines at trace level', async () => {
    const text = await captureLogs((logger) => {
      const child = logger.child({ flow: 'bootstrap-master', token: bootstrapToken });
      child.trace({ bootstrapToken, certificateKey, privateKey }, 'by field name');
      child.trace({ nested: { deeper: { 'client-key-data': clientKeyData } } }, 'nested field');
      child.debug({ material: new Secret(bootstrapToken) }, 'Secret wrapper');
      child.debug({ SecretString: secretString }, 'a Secrets Manager value');
      child.info({ config: adminConf }, 'a kubeconfig in a field of another name');
      child.info(`interpolated ${bootstrapToken} and ${certificateKey}`);
      child.warn({ argv: ['kubeadm', 'join', '--token', bootstrapToken] }, 'argv');
      child.error({ err: new Error(`kubeadm said: ${rsaKey}`) }, 'an error carrying a key');
      child.error(
        { err: new KubeadmError('failed', { cause: new Error(`token ${bootstrapToken}`) }) },
        'a cause',
      );
      child.fatal({ list: [certificateKey, { privateKey }] }, 'arrays');
      child.info({ caCertHash: `sha256:${'ab'.repeat(32)}` }, 'not a secret');
    });
    assert.equal(text.trim().split('\n').length, 11);
    assertClean(text);
    assert.ok(text.includes(REDACTED));
    // What is not secret stays readable.
    assert.ok(text.includes('"flow":"bootstrap-master"'));
    assert.ok(text.includes(`sha256:${'ab'.repeat(32)}`));
  });

  it('keeps secrets out of the one error line, with and without --log-level debug', () => {
    const error = new InternalError(`could not parse ${adminConf}`, {
      hint: `token was ${bootstrapToken}`,
      cause: new Error(`certificate key ${certificateKey}\n${privateKey}`),
    });
    for (const argv of [
      ['node', 'kboot', 'boot'],
      ['node', 'kboot', 'boot', '--log-level', 'trace'],
      ['node', 'kboot', 'boot', '--log-format', 'pretty', '--log-level=debug'],
    ]) {
      let out = '';
      reportError(error, argv, {}, (line) => {
        out += line;
      });
      assert.ok(out.length > 0);
      assertClean(out);
    }
  });

  it('renders a Secret as redacted in every form', () => {
    const secret = new Secret(bootstrapToken);
    assert.equal(String(secret), REDACTED);
    assert.equal(JSON.stringify({ secret }), `{"secret":"${REDACTED}"}`);
    assert.equal(`${secret}`, REDACTED);
    assert.equal(secret.reveal(), bootstrapToken);
  });

  it('leaves ordinary text alone', () => {
    const text = 'joined cluster prod at ip-10-0-1-2.ec2.internal:6443 with hash sha256:' + 'a'.repeat(64);
    assert.equal(redactText(text), text);
  });
});
