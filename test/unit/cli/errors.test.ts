import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAwsError } from '../../../src/adapters/aws/errors.js';
import { buildProgram } from '../../../src/cli/program.js';
import { commandPath, fromCommanderError, reportError } from '../../../src/cli/report.js';
import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  ConfigError,
  ExitCode,
  IncompatibleError,
  InternalError,
  KubeadmError,
  KubectlError,
  StateConflictError,
  toKbootError,
  UsageError,
} from '../../../src/core/errors.js';

describe('exit codes', () => {
  const table = [
    [new UsageError('x'), 2],
    [new ConfigError('x'), 2],
    [new AwsUnavailableError('x'), 3],
    [new AwsDeniedError('x'), 4],
    [new AwsThrottledError('x'), 5],
    [new ClusterTimeoutError('x'), 6],
    [new KubeadmError('x'), 7],
    [new KubectlError('x'), 10],
    [new StateConflictError('x'), 8],
    [new IncompatibleError('x'), 9],
    [new InternalError('x'), 1],
  ] as const;
  for (const [error, code] of table) {
    it(`${error.name} exits ${code}`, () => assert.equal(error.exitCode, code));
  }
  it('gives every class its own exit code, except the usage family', () => {
    const codes = new Set(table.filter(([e]) => e.exitCode !== ExitCode.usage).map(([e]) => e.exitCode));
    assert.equal(codes.size, table.length - 2);
  });
  it('wraps unknown failures as internal, keeping the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = toKbootError(cause, 'rendering');
    assert.equal(wrapped.exitCode, ExitCode.internal);
    assert.equal(wrapped.cause, cause);
    assert.match(wrapped.message, /while rendering: boom/);
  });
});

describe('AWS error classification', () => {
  const cases: [string, object, number | undefined][] = [
    ['AccessDeniedException', { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, 4],
    ['UnauthorizedOperation', { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }, 4],
    ['ExpiredTokenException', { name: 'ExpiredTokenException' }, 4],
    ['ThrottlingException', { name: 'ThrottlingException' }, 5],
    ['RequestLimitExceeded', { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }, 5],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 3],
    ['TimeoutError', { name: 'TimeoutError' }, 3],
    ['500', { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } }, 3],
    ['missing region', new Error('Region is missing'), 2],
    [
      'domain error',
      { name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } },
      undefined,
    ],
  ];
  for (const [label, error, code] of cases) {
    it(`${label} → ${code ?? 'left to the caller'}`, () => {
      assert.equal(classifyAwsError(error, 'testing', 'dynamodb:GetItem')?.exitCode, code);
    });
  }
  it('names the IAM permission in the denied hint', () => {
    const error = classifyAwsError({ name: 'AccessDeniedException' }, 'reading tags', 'ec2:DescribeTags');
    assert.match(error?.hint ?? '', /ec2:DescribeTags/);
  });
});

describe('usage errors from the parser', () => {
  const program = buildProgram({ signal: new AbortController().signal });
  it('names the deepest command in the hint', () => {
    assert.equal(commandPath(program, ['node', 'kboot', 'cidr', 'plan', '--bogus']), 'cidr plan');
    assert.equal(commandPath(program, ['node', 'kboot', 'nope']), '');
  });
  it('prints exactly one line without a stack unless debug', () => {
    const error = fromCommanderError(
      Object.assign(new Error("error: unknown option '--bogus'"), {
        code: 'commander.unknownOption',
        exitCode: 1,
      }) as never,
      'cidr plan',
    );
    assert.ok(error);
    let out = '';
    reportError(
      error,
      ['node', 'kboot'],
      {},
      (line) => {
        out += line;
      },
      true,
    );
    assert.equal(out, "kboot: error: unknown option '--bogus' (run 'kboot cidr plan --help')\n");
    out = '';
    reportError(
      error,
      ['node', 'kboot', '--log-level', 'debug'],
      {},
      (line) => {
        out += line;
      },
      true,
    );
    assert.ok(out.split('\n').length > 2);
  });
});
