/**
 * Secrets never reach a log line or an error message, at any level: every kind of secret kboot
 * handles, logged every way a careless caller could, at trace.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { reportError } from '../../../src/cli/report.js';
import { AwsUnavailableError, InternalError, KubeadmError } from '../../../src/core/errors.js';
import { createLogger } from '../../../src/core/logger.js';
import { REDACTED, redactJsonLine, redactText, Secret } from '../../../src/core/secrets.js';

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
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 11);
    assertClean(text);
    assert.ok(text.includes(REDACTED));
    // Errors keep their message and type, with the secret in them hidden.
    const [keyLine, causeLine] = lines
      .map((line) => JSON.parse(line) as { msg: string; err?: Record<string, unknown> })
      .filter((line) => line.err !== undefined);
    assert.equal(keyLine?.err?.type, 'Error');
    assert.match(String(keyLine?.err?.message), /^kubeadm said: \[REDACTED\]/);
    assert.equal(causeLine?.err?.type, 'KubeadmError');
    assert.equal(causeLine?.err?.message, 'failed');
    assert.equal(causeLine?.err?.code, 'kubeadm-failed');
    assert.deepEqual(
      {
        type: (causeLine?.err?.cause as Record<string, unknown> | undefined)?.type,
        message: (causeLine?.err?.cause as Record<string, unknown> | undefined)?.message,
      },
      { type: 'Error', message: `token ${REDACTED}` },
    );
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

type LogLine = Record<string, unknown> & { msg?: string; err?: Record<string, unknown> };

function parseLines(text: string): LogLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch (error) {
        throw new assert.AssertionError({
          message: `not one JSON line: ${line} (${(error as Error).message})`,
        });
      }
    });
}

describe('logged errors', () => {
  it('keep their type, message, code, hint and causes, with secrets hidden', async () => {
    // What the AWS SDK throws: a ServiceException with a name, $fault and $metadata.
    const sdkError = Object.assign(
      new Error('Rate exceeded for aws_session_token=IQoJb3JpZ2luX2VjEAoaCXVz'),
      {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400, requestId: 'r-1' },
      },
    );
    const aws = new AwsUnavailableError('could not renew the lease in DynamoDB table kboot', {
      hint: 'check the network',
      cause: sdkError,
    });
    const internal = new InternalError(`unexpected failure while rendering ${bootstrapToken}`, {
      details: { cluster: 'prod' },
    });
    const plain = new Error(`kubeadm printed --certificate-key ${certificateKey} and ${bootstrapToken}`);
    const text = await captureLogs((logger) => {
      logger.warn({ err: aws }, 'could not renew the lease; retrying');
      logger.error({ err: internal, cluster: 'prod' }, 'internal');
      logger.error(plain);
      logger.warn({ error: plain }, 'under the other key');
    });
    assertClean(text);
    assert.ok(!text.includes('IQoJb3JpZ2luX2VjEAoaCXVz'));
    const [awsLine, internalLine, plainLine, otherKeyLine] = parseLines(text);
    assert.deepEqual(
      {
        type: awsLine?.err?.type,
        message: awsLine?.err?.message,
        code: awsLine?.err?.code,
        hint: awsLine?.err?.hint,
      },
      {
        type: 'AwsUnavailableError',
        message: 'could not renew the lease in DynamoDB table kboot',
        code: 'aws-unavailable',
        hint: 'check the network',
      },
    );
    const cause = awsLine?.err?.cause as Record<string, unknown>;
    assert.equal(cause.type, 'ThrottlingException');
    assert.equal(cause.message, `Rate exceeded for aws_session_token=${REDACTED}`);
    assert.equal(cause.statusCode, 400);
    assert.equal(internalLine?.err?.type, 'InternalError');
    assert.equal(internalLine?.err?.message, `unexpected failure while rendering ${REDACTED}`);
    assert.deepEqual(internalLine?.err?.details, { cluster: 'prod' });
    assert.equal(plainLine?.err?.type, 'Error');
    assert.equal(plainLine?.err?.message, `kubeadm printed --certificate-key ${REDACTED} and ${REDACTED}`);
    assert.equal(plainLine?.msg, plainLine?.err?.message);
    assert.equal(
      otherKeyLine?.error && (otherKeyLine.error as Record<string, unknown>).message,
      plainLine?.msg,
    );
  });

  it('keep a cause chain that loops, cut where it repeats', async () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    (first as { cause?: unknown }).cause = second;
    const text = await captureLogs((logger) => logger.warn({ err: second }, 'loop'));
    const [line] = parseLines(text);
    assert.equal(line?.err?.message, 'second');
    assert.equal((line?.err?.cause as Record<string, unknown> | undefined)?.message, 'first');
  });
});

describe('redaction of shapes', () => {
  const upperHexKey = '0123456789ABCDEF'.repeat(4);
  const awsSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const imdsToken = 'AQAEAFfdzb1Fk2UOrJe2ePNXdcFpU6W1sVCeDpTYHuZPqgRX1Cw1ZA==';
  const opaque = 'x9.opaque~token/with+chars=';
  const cases: [string, string, string][] = [
    ['aws_secret_access_key', `aws_secret_access_key = ${awsSecret}`, awsSecret],
    ['aws_session_token in JSON', `{"aws_session_token":"${awsSecret}"}`, awsSecret],
    ['IMDS token header', `X-aws-ec2-metadata-token: ${imdsToken}`, imdsToken.slice(0, 20)],
    ['upper-case hex key', `certificate key ${upperHexKey}`, upperHexKey],
    ['opaque bearer token', `Authorization: Bearer ${opaque}`, 'opaque~token'],
    ['opaque token, any scheme', `authorization: Token ${opaque}`, 'opaque~token'],
    ['bearer token on its own', `curl -H bearer ${opaque}`, 'opaque~token'],
    ['bootstrap token flag', '--discovery-token=abcdefghijklmnop', 'abcdefghijklmnop'],
    ['token-secret field', 'token-secret: 0123456789abcdef', '0123456789abcdef'],
    ['certificate key field', 'certificateKey: not-hex-but-secret', 'not-hex-but-secret'],
    ['certificate key flag', '--certificate-key s3cr3t', 's3cr3t'],
  ];
  for (const [name, text, needle] of cases) {
    it(`hides ${name}`, () => {
      const out = redactText(text);
      assert.ok(!out.includes(needle), out);
      assert.ok(out.includes(REDACTED), out);
    });
  }

  it('keeps plain words after "bearer" and sha256 hashes in upper case', () => {
    for (const text of ['a bearer token is used', `hash sha256:${'AB'.repeat(32)}`]) {
      assert.equal(redactText(text), text);
    }
  });

  it('does not swallow the end of a JSON text (the closing quote and brace)', () => {
    for (const value of [
      `aws_secret_access_key=${awsSecret}`,
      `aws_session_token: ${awsSecret}`,
      `x-aws-ec2-metadata-token: ${imdsToken}`,
      `Authorization: Bearer ${opaque}`,
      `token: ${bootstrapToken}`,
    ]) {
      const json = JSON.stringify({ header: value });
      const out = redactText(json);
      assert.doesNotThrow(() => JSON.parse(out), out);
      assert.ok(out.endsWith('"}'), out);
      assert.ok(out.includes(REDACTED), out);
    }
  });

  it('keeps every log line valid JSON, whatever the secrets and delimiters around them', async () => {
    // A deterministic generator: secret shapes glued with the characters JSON escapes or ends on.
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const secrets = [
      bootstrapToken,
      certificateKey,
      upperHexKey,
      `aws_secret_access_key=${awsSecret}`,
      `"aws_session_token": "${awsSecret}"`,
      `X-aws-ec2-metadata-token: ${imdsToken}`,
      `Authorization: Bearer ${opaque}`,
      `--token ${bootstrapToken}`,
      `client-key-data: ${clientKeyData.slice(0, 60)}`,
      privateKey,
      privateKey.slice(0, 80),
    ];
    const glue = [
      '"',
      '}',
      '{',
      '\\',
      '\\"',
      '"}',
      "'",
      ',',
      ':',
      '=',
      ' ',
      '\n',
      '\t',
      ';',
      'é',
      '\u0001',
      'text',
    ];
    const pick = <T>(list: readonly T[]): T => list[random(list.length)] as T;
    const samples: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      let sample = '';
      for (let j = 0; j < 6; j += 1) sample += pick(glue) + (random(2) === 0 ? pick(secrets) : '');
      samples.push(sample);
    }
    const text = await captureLogs((logger) => {
      for (const [i, sample] of samples.entries()) {
        const child = i % 5 === 0 ? logger.child({ binding: sample }) : logger;
        if (i % 4 === 0) child.info(sample);
        else if (i % 4 === 1)
          child.warn({ field: sample, nested: { [sample.slice(0, 8)]: sample } }, 'fields');
        else if (i % 4 === 2) child.error({ err: new Error(sample, { cause: new Error(sample) }) }, sample);
        else child.error(new InternalError(sample, { hint: sample }));
      }
    });
    const lines = parseLines(text);
    assert.equal(lines.length, samples.length);
    assertClean(text);
    for (const line of lines) {
      const decoded = JSON.stringify(line);
      assertClean(decoded);
      assert.ok(!decoded.includes(awsSecret) && !decoded.includes(imdsToken.slice(0, 20)), decoded);
    }
  });

  it('redacts a JSON line value by value, and other text as text', () => {
    assert.equal(redactJsonLine(`{"a":"token=${bootstrapToken}"}\n`), `{"a":"token=${REDACTED}"}\n`);
    assert.equal(redactJsonLine(`kboot: error: ${bootstrapToken}`), `kboot: error: ${REDACTED}`);
  });
});
