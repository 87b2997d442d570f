import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { describeImages } from '../../../../src/adapters/aws/ec2-images.js';
import { type AmiQuery, type Image, imageFilters, newestFirst } from '../../../../src/domain/ami/query.js';

function image(id: string, creationDate: string, state: string, architecture: string): Image {
  return { id, name: id, state, creationDate, architecture, ownerId: '123456789012', tags: {} };
}

const query: AmiQuery = {
  tags: [{ key: 'kboot.io/version', value: '0.2.0' }],
  owners: ['self'],
  arch: 'x86_64',
  kubernetesVersion: undefined,
};

describe('the AMI filters', () => {
  it('asks EC2 for available images of the architecture only', () => {
    assert.deepEqual(imageFilters(query), [
      { Name: 'state', Values: ['available'] },
      { Name: 'tag:kboot.io/version', Values: ['0.2.0'] },
      { Name: 'architecture', Values: ['x86_64'] },
    ]);
  });

  it('sends those filters in the DescribeImages request', async () => {
    const sent: DescribeImagesCommand['input'][] = [];
    const ec2 = new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    ec2.send = (async (command: DescribeImagesCommand) => {
      sent.push(command.input);
      return { Images: [] };
    }) as EC2Client['send'];
    await describeImages(ec2, ['self'], imageFilters(query));
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.Owners, ['self']);
    assert.deepEqual(sent[0]?.Filters, imageFilters(query));
  });
});

describe('newestFirst', () => {
  const right = image('ami-right', '2026-11-01T00:00:00.000Z', 'available', 'x86_64');
  const newer = [
    image('ami-pending', '2026-11-03T00:00:00.000Z', 'pending', 'x86_64'),
    image('ami-failed', '2026-11-04T00:00:00.000Z', 'failed', 'x86_64'),
    image('ami-arm', '2026-11-05T00:00:00.000Z', 'available', 'arm64'),
  ];
  const older = image('ami-older', '2026-10-01T00:00:00.000Z', 'available', 'x86_64');

  it('never picks a pending or failed image, however new', () => {
    assert.deepEqual(
      newestFirst([older, ...newer.slice(0, 2), right]).map((i) => i.id),
      ['ami-right', 'ami-older'],
    );
  });

  it('never picks an image of the other architecture when one is asked for', () => {
    assert.deepEqual(
      newestFirst([older, ...newer, right], 'x86_64').map((i) => i.id),
      ['ami-right', 'ami-older'],
    );
    assert.deepEqual(
      newestFirst([older, ...newer, right], 'arm64').map((i) => i.id),
      ['ami-arm'],
    );
  });

  it('keeps every available architecture when none is asked for, newest first', () => {
    assert.deepEqual(
      newestFirst([older, ...newer, right]).map((i) => i.id),
      ['ami-arm', 'ami-right', 'ami-older'],
    );
  });
});
