import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imdsEndpointFromEnv } from '../../../../src/adapters/imds/settings.js';
import { ConfigError } from '../../../../src/core/errors.js';

describe('imdsEndpointFromEnv', () => {
  const cases: { env: NodeJS.ProcessEnv; expected: ReturnType<typeof imdsEndpointFromEnv> }[] = [
    { env: {}, expected: { disabled: false, endpoint: 'http://169.254.169.254' } },
    {
      env: { AWS_EC2_METADATA_DISABLED: 'false' },
      expected: { disabled: false, endpoint: 'http://169.254.169.254' },
    },
    {
      env: { AWS_EC2_METADATA_DISABLED: '' },
      expected: { disabled: false, endpoint: 'http://169.254.169.254' },
    },
    { env: { AWS_EC2_METADATA_DISABLED: 'true' }, expected: { disabled: true, value: 'true' } },
    { env: { AWS_EC2_METADATA_DISABLED: 'TRUE' }, expected: { disabled: true, value: 'TRUE' } },
    { env: { AWS_EC2_METADATA_DISABLED: '1' }, expected: { disabled: true, value: '1' } },
    {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8111/' },
      expected: { disabled: false, endpoint: 'http://127.0.0.1:8111' },
    },
    {
      env: {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://[::1]:8111',
        AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv4',
      },
      expected: { disabled: false, endpoint: 'http://[::1]:8111' },
    },
    {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' },
      expected: { disabled: false, endpoint: 'http://[fd00:ec2::254]' },
    },
    {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'ipv4' },
      expected: { disabled: false, endpoint: 'http://169.254.169.254' },
    },
    {
      env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1' },
      expected: { disabled: true, value: 'true' },
    },
  ];
  for (const { env, expected } of cases) {
    it(`${JSON.stringify(env)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(imdsEndpointFromEnv(env), expected);
    });
  }

  const invalid: { env: NodeJS.ProcessEnv; message: RegExp }[] = [
    {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'not a url' },
      message: /AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL/,
    },
    { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'ftp://host' }, message: /must be an http\(s\) URL/ },
    {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv5' },
      message: /AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is "IPv5"/,
    },
  ];
  for (const { env, message } of invalid) {
    it(`refuses ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => imdsEndpointFromEnv(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, message);
          assert.ok((error.hint ?? '').length > 0);
          return true;
        },
      );
    });
  }
});
