import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DescribeInstancesCommand, EC2Client, Instance } from '@aws-sdk/client-ec2';
import { Ec2InstanceDirectory } from '../../../../src/adapters/aws/ec2-instances.js';
import { AwsDeniedError } from '../../../../src/core/errors.js';

function instance(id: string, state: string, dns: string, tags: Record<string, string>): Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    PrivateDnsName: dns,
    PrivateIpAddress: dns === '' ? undefined : '10.0.1.10',
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** Answers DescribeInstances from a list, honouring the one filter kboot sends. */
function stubEc2(instances: Instance[], sent: { filter: string; values: string[] }[]): EC2Client {
  return {
    send: async (command: DescribeInstancesCommand) => {
      const filter = command.input.Filters?.[0];
      const values = filter?.Values ?? [];
      sent.push({ filter: filter?.Name ?? '', values });
      const key = (i: Instance) => (filter?.Name === 'instance-id' ? i.InstanceId : i.PrivateDnsName);
      return { Reservations: [{ Instances: instances.filter((i) => values.includes(key(i) ?? '')) }] };
    },
  } as unknown as EC2Client;
}

describe('Ec2InstanceDirectory', () => {
  const ours = { 'kubernetes.io/cluster/prod': 'owned' };
  const fleet = [
    instance('i-1', 'running', 'ip-10-0-1-1.ec2.internal', ours),
    instance('i-2', 'terminated', '', ours),
    instance('i-3', 'running', 'ip-10-0-1-3.ec2.internal', { KubernetesCluster: 'other' }),
    instance('i-4', 'stopped', 'ip-10-0-1-4.ec2.internal', {}),
  ];

  it('looks up by id and by name with filters, and keeps only names this cluster may own', async () => {
    const sent: { filter: string; values: string[] }[] = [];
    const directory = new Ec2InstanceDirectory(stubEc2(fleet, sent));
    const lookup = await directory.lookup({
      cluster: 'prod',
      instanceIds: ['i-2', 'i-1', 'i-9'],
      privateDnsNames: ['ip-10-0-1-3.ec2.internal', 'ip-10-0-1-4.ec2.internal', 'ip-10-0-1-1.ec2.internal'],
    });
    assert.deepEqual(
      sent.map((call) => call.filter),
      ['instance-id', 'private-dns-name'],
    );
    assert.equal(lookup.byId.get('i-2')?.state, 'terminated');
    assert.equal(lookup.byId.get('i-2')?.privateDnsName, undefined);
    assert.equal(lookup.byId.get('i-9'), undefined, 'an unknown id is simply absent');
    assert.equal(lookup.byId.get('i-1')?.cluster, 'prod');
    assert.deepEqual([...lookup.byDnsName.keys()].sort(), [
      'ip-10-0-1-1.ec2.internal',
      'ip-10-0-1-4.ec2.internal',
    ]);
  });

  it('asks nothing when there is nothing to look up', async () => {
    const sent: { filter: string; values: string[] }[] = [];
    const lookup = await new Ec2InstanceDirectory(stubEc2(fleet, sent)).lookup({
      cluster: 'prod',
      instanceIds: [],
      privateDnsNames: [],
    });
    assert.equal(sent.length, 0);
    assert.equal(lookup.byId.size, 0);
  });

  it('says which permission is missing when EC2 refuses', async () => {
    const denied = {
      send: async () => {
        throw Object.assign(new Error('not authorized'), {
          name: 'UnauthorizedOperation',
          $metadata: { httpStatusCode: 403 },
        });
      },
    } as unknown as EC2Client;
    await assert.rejects(
      new Ec2InstanceDirectory(denied).lookup({ cluster: 'prod', instanceIds: ['i-1'], privateDnsNames: [] }),
      (error: unknown) => {
        assert.ok(error instanceof AwsDeniedError);
        assert.match(error.hint ?? '', /ec2:DescribeInstances/);
        return true;
      },
    );
  });
});
