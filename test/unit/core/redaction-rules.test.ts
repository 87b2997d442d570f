/**
 * Redaction rule by rule, with values that look like nothing secret, so only the rule under test
 * can hide them: every secret field name (any case), each pattern's flags (every occurrence, any
 * case), the exact extent of what a pattern hides (PEM blocks, JWTs, bearer tokens), how deep a
 * value is walked, and how a log line that is JSON, or not, or JSON but not an object, comes out.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { REDACTED, redactJsonLine, redactText, redactValue, Secret } from '../../../src/core/secrets.js';

/** The field names whose values are secret, written out here rather than read from the code. */
const SECRET_FIELDS = [
  'token',
  'bootstrapToken',
  'certificateKey',
  'certificate-key',
  'encryptionKey',
  'privateKey',
  'client-key-data',
  'client-certificate-data',
  'password',
  'secret',
  'SecretString',
  'SecretBinary',
  'adminConf',
  'kubeconfig',
  'caKey',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'x-aws-ec2-metadata-token',
];

const PLAIN = 'hunter2'; // no pattern matches it

describe('redactValue', () => {
  for (const field of SECRET_FIELDS) {
    it(`hides the value of ${field}, in any case`, () => {
      assert.deepEqual(redactValue({ [field]: PLAIN, other: PLAIN }), { [field]: REDACTED, other: PLAIN });
      assert.deepEqual(redactValue({ [field.toUpperCase()]: PLAIN }), { [field.toUpperCase()]: REDACTED });
    });
  }

  it('leaves an empty, null or missing secret field as it is (nothing to hide, and it tells)', () => {
    assert.deepEqual(redactValue({ token: '', password: null, secret: undefined }), {
      token: '',
      password: null,
      secret: undefined,
    });
  });

  it('hides a Secret anywhere, and walks arrays and objects', () => {
    assert.deepEqual(
      redactValue({ a: [new Secret(PLAIN), 'abcdef.0123456789abcdef', { password: PLAIN }] }),
      {
        a: [REDACTED, REDACTED, { password: REDACTED }],
      },
    );
    assert.equal(inspect(new Secret(PLAIN)), REDACTED);
  });

  it('stops 12 levels down', () => {
    const nest = (levels: number, leaf: unknown): unknown =>
      levels === 0 ? leaf : { a: nest(levels - 1, leaf) };
    const nestArray = (levels: number, leaf: unknown): unknown =>
      levels === 0 ? leaf : [nestArray(levels - 1, leaf)];
    assert.deepEqual(redactValue(nest(12, PLAIN)), nest(12, PLAIN));
    assert.deepEqual(redactValue(nest(13, PLAIN)), nest(12, { a: '[…]' }));
    assert.deepEqual(redactValue(nestArray(12, PLAIN)), nestArray(12, PLAIN));
    assert.deepEqual(redactValue(nestArray(13, PLAIN)), nestArray(12, ['[…]']));
  });
});

describe('redactText: what each pattern hides', () => {
  const rsa = [
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu',
    '-----END RSA PRIVATE KEY-----',
  ].join('\n');
  const cases: [string, string, string][] = [
    ['a whole PEM private key block of any kind', `key: ${rsa} and after`, `key: ${REDACTED} and after`],
    [
      'a PKCS #8 key block',
      `x -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- y`,
      `x ${REDACTED} y`,
    ],
    [
      'a key cut short, to the end of the text',
      `x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\nmore`,
      `x ${REDACTED}`,
    ],
    [
      'every credential of a line, in any case',
      'password=abc1 PASSWORD=abc2 Token: abc3',
      `password=${REDACTED} PASSWORD=${REDACTED} Token: ${REDACTED}`,
    ],
    [
      'every token flag, in any case',
      '--TOKEN abc1 --discovery-token abc2',
      `--TOKEN ${REDACTED} --discovery-token ${REDACTED}`,
    ],
    ['a JWT with short segments', 'jwt eyJh.eyJz.s-g_1 end', `jwt ${REDACTED} end`],
    ['a JWT whole', 'jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end', `jwt ${REDACTED} end`],
    [
      'every AWS secret, in any case',
      'aws_secret_access_key=abc1 AWS_SECRET_ACCESS_KEY=abc2',
      `aws_secret_access_key=${REDACTED} AWS_SECRET_ACCESS_KEY=${REDACTED}`,
    ],
    [
      'every credential header, in any case',
      'Authorization: Basic abc1, AUTHORIZATION=Basic abc2',
      `Authorization: Basic ${REDACTED}, AUTHORIZATION=Basic ${REDACTED}`,
    ],
    [
      'a bearer token after several spaces, with its padding',
      'bearer   abcdef1== next',
      `bearer   ${REDACTED} next`,
    ],
    ['a bearer token whose first character is its only non-letter', 'Bearer 1abcdef', `Bearer ${REDACTED}`],
    ['a bearer token whose digit comes late', 'Bearer abcdefgh9', `Bearer ${REDACTED}`],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      assert.equal(redactText(text), expected);
    });
  }
});

describe('redactJsonLine', () => {
  it('re-encodes a JSON object line and keeps its newline, or its lack of one', () => {
    assert.equal(redactJsonLine('{ "a": 1, "password": "x" }\n'), `{"a":1,"password":"${REDACTED}"}\n`);
    assert.equal(redactJsonLine('{ "a": 1 }'), '{"a":1}');
  });

  it('treats a JSON line that is not an object as text, keeping it as written', () => {
    for (const line of ['[ "a" ]\n', '"\\u0041"\n', '5\n', 'null\n', 'not json {\n'])
      assert.equal(redactJsonLine(line), line);
    assert.equal(redactJsonLine('[ "abcdef.0123456789abcdef" ]'), `[ "${REDACTED}" ]`);
  });
});
