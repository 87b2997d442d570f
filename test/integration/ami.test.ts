import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateImageCommand,
  CreateTagsCommand,
  type EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { testEc2 } from '../support/aws.js';
import { runKboot } from '../support/cli.js';
import { type Moto, startMoto } from '../support/moto.js';

/** moto's stock images: the image made from an instance takes its source's architecture. */
const X86_64_SOURCE = 'ami-12c6146b';
const ARM64_SOURCE = 'ami-0e9271c829888680e';

async function makeImage(
  ec2: EC2Client,
  name: string,
  tags: Record<string, string>,
  source = X86_64_SOURCE,
): Promise<string> {
  const run = await ec2.send(new RunInstancesCommand({ ImageId: source, MinCount: 1, MaxCount: 1 }));
  const instanceId = run.Instances?.[0]?.InstanceId as string;
  const image = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  const imageId = image.ImageId as string;
  await ec2.send(
    new CreateTagsCommand({
      Resources: [imageId],
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  // moto stamps CreationDate to the second: keep images a second apart so "newest" is defined.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return imageId;
}

describe('kboot ami', () => {
  let moto: Moto;
  let ec2: EC2Client;
  const ids: Record<string, string> = {};

  // The images are made once: every test only reads them.
  before(async () => {
    moto = await startMoto();
    ec2 = testEc2(moto);
    ids.old = await makeImage(ec2, 'kboot-1.30-old', {
      'kboot.io/version': '0.1.0',
      'kboot.io/kubernetes-version': '1.30.4',
    });
    ids.mid = await makeImage(ec2, 'kboot-1.31-a', {
      'kboot.io/version': '0.1.0',
      'kboot.io/kubernetes-version': '1.31.1',
    });
    ids.new = await makeImage(ec2, 'kboot-1.31-b', {
      'kboot.io/version': '0.2.0',
      'kboot.io/kubernetes-version': '1.31.2',
      'kboot.io/containerd-version': '2.3.2',
      'kboot.io/runc-version': '1.3.4',
      'kboot.io/manifest': '/usr/share/kboot/image-manifest.json',
    });
    ids.other = await makeImage(ec2, 'unrelated', { team: 'web' });
    // Newer than every x86_64 image of its version: must not be picked for --arch x86_64.
    ids.arm = await makeImage(ec2, 'kboot-0.2.0-arm64', { 'kboot.io/version': '0.2.0' }, ARM64_SOURCE);
  });
  after(async () => {
    ec2.destroy();
    await moto.stop();
  });

  it('prints the newest image matching a tag', async () => {
    const result = await runKboot(['ami', '--tag', 'kboot.io/version=0.1.0', '--owner', 'self'], {
      env: moto.awsEnv(),
    });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.trim(), ids.mid);
  });

  it('never picks a newer image of the other architecture', async () => {
    const env = moto.awsEnv();
    const any = await runKboot(['ami', '--tag', 'kboot.io/version=0.2.0'], { env });
    assert.equal(any.stdout.trim(), ids.arm, any.stderr);
    const x86 = await runKboot(['ami', '--tag', 'kboot.io/version=0.2.0', '--arch', 'x86_64'], { env });
    assert.equal(x86.exitCode, 0, x86.stderr);
    assert.equal(x86.stdout.trim(), ids.new);
    const arm = await runKboot(['ami', '--tag', 'kboot.io/version=0.2.0', '--arch', 'arm64'], { env });
    assert.equal(arm.stdout.trim(), ids.arm, arm.stderr);
  });

  it('filters on the Kubernetes minor version', async () => {
    const result = await runKboot(
      ['ami', '--tag', 'kboot.io/version=0.1.0', '--kubernetes-version', '1.30'],
      {
        env: moto.awsEnv(),
      },
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.trim(), ids.old);
  });

  it('lists every match newest first as JSON with --all', async () => {
    const result = await runKboot(['ami', '--kubernetes-version', '1.31', '--all', '--output', 'json'], {
      env: moto.awsEnv(),
    });
    assert.equal(result.exitCode, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as {
      id: string;
      name: string;
      creationDate: string;
      versions: Record<string, string>;
      tags: object;
    }[];
    assert.deepEqual(
      rows.map((row) => row.id),
      [ids.new, ids.mid],
    );
    assert.equal(rows[0]?.name, 'kboot-1.31-b');
    assert.deepEqual(rows[0]?.tags, {
      'kboot.io/version': '0.2.0',
      'kboot.io/kubernetes-version': '1.31.2',
      'kboot.io/containerd-version': '2.3.2',
      'kboot.io/runc-version': '1.3.4',
      'kboot.io/manifest': '/usr/share/kboot/image-manifest.json',
    });
    // The versions the image was built with, from its tags.
    assert.deepEqual(rows[0]?.versions, {
      kboot: '0.2.0',
      containerd: '2.3.2',
      kubernetes: '1.31.2',
      runc: '1.3.4',
    });
    assert.deepEqual(rows[1]?.versions, { kboot: '0.1.0', kubernetes: '1.31.1' });
  });

  it('names the filters when nothing matches', async () => {
    const result = await runKboot(['ami', '--tag', 'kboot.io/version=9.9.9', '--arch', 'arm64'], {
      env: moto.awsEnv(),
    });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /no available AMI matches tag kboot\.io\/version=9\.9\.9, architecture arm64/,
    );
  });

  it('rejects a malformed tag filter before calling AWS', async () => {
    const result = await runKboot(['ami', '--tag', 'novalue'], { env: moto.awsEnv() });
    assert.equal(result.exitCode, 2);
    assert.equal(result.error?.msg, 'invalid --tag "novalue"');
    assert.match(result.error?.hint ?? '', /KEY=VALUE/);
  });

  it('says AWS is unavailable when the endpoint is down', async () => {
    const result = await runKboot(['ami'], {
      env: { ...moto.awsEnv(), AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' },
    });
    assert.equal(result.exitCode, 3, result.stderr);
    assert.match(result.stderr, /AWS was unavailable while listing AMIs/);
  });
});
