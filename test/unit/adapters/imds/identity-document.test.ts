import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIdentityDocument } from '../../../../src/adapters/imds/identity-document.js';
import { AwsUnavailableError } from '../../../../src/core/errors.js';

// As AWS prints it: two-space indent, " : " separators, nulls for absent products.
const AWS_DOCUMENT = `{
  "accountId" : "123456789012",
  "architecture" : "arm64",
  "availabilityZone" : "eu-central-1c",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-0abcdef1234567890",
  "instanceId" : "i-0fedcba9876543210",
  "instanceType" : "c7g.xlarge",
  "kernelId" : null,
  "pendingTime" : "2026-01-01T00:00:00Z",
  "privateIp" : "172.31.4.5",
  "ramdiskId" : null,
  "region" : "eu-central-1",
  "version" : "2017-09-30"
}`;

describe('parseIdentityDocument', () => {
  it('reads the fields kboot needs', () => {
    assert.deepEqual(parseIdentityDocument(AWS_DOCUMENT, 'http://imds'), {
      instanceId: 'i-0fedcba9876543210',
      region: 'eu-central-1',
      availabilityZone: 'eu-central-1c',
      privateIp: '172.31.4.5',
      accountId: '123456789012',
      instanceType: 'c7g.xlarge',
      imageId: 'ami-0abcdef1234567890',
      architecture: 'arm64',
      launchedAtMs: Date.parse('2026-01-01T00:00:00Z'),
    });
  });

  it('leaves the launch time out when pendingTime is missing or unparsable', () => {
    for (const pending of ['"not a time"', 'null']) {
      const text = AWS_DOCUMENT.replace('"2026-01-01T00:00:00Z"', pending);
      assert.equal(parseIdentityDocument(text, 'http://imds').launchedAtMs, undefined);
    }
  });

  const malformed: [text: string, message: RegExp][] = [
    ['<html>', /not JSON/],
    ['[]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"instanceId":"i-1"}', /missing region, availabilityZone, privateIp/],
    [AWS_DOCUMENT.replace('"eu-central-1",', '"",'), /missing region$/],
  ];
  for (const [text, message] of malformed) {
    it(`refuses ${JSON.stringify(text.slice(0, 24))}`, () => {
      assert.throws(
        () => parseIdentityDocument(text, 'http://imds'),
        (error: unknown) => {
          assert.ok(error instanceof AwsUnavailableError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
