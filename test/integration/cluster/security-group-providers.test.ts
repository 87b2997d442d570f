/**
 * The security-group and security-group-rules providers against moto, with the resources the
 * graph makes from a spec (Cilium, NodePorts from one range): create → both groups exist, tagged,
 * with exactly the rules the spec asks for; a create resumed after its groups and one group's
 * rules were made finds them and adds nothing twice; destroy (rules, then groups) removes them
 * all; a group of the same name made outside kboot is neither adopted nor replaced.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  SecurityGroupProvider,
  SecurityGroupRulesProvider,
} from '../../../src/adapters/aws/cluster/security-group.js';
import { StateConflictError } from '../../../src/core/errors.js';
import { clusterGraph } from '../../../src/domain/cluster/graph.js';
import type { DesiredResource, ResourceRecord } from '../../../src/domain/cluster/resource.js';
import type {
  SecurityGroupProperties,
  SecurityGroupRulesProperties,
} from '../../../src/domain/cluster/security-groups.js';
import { parseClusterSpec } from '../../../src/domain/cluster/spec.js';
import {
  context,
  motoPerTest,
  network,
  outputsFrom,
  settings,
  type TestClients,
} from './provider-support.js';

const CLUSTER = 'prod';

function graphFor(vpcId: string, subnetIds: string[]) {
  const spec = parseClusterSpec(
    [
      'region: us-east-1',
      'kubernetesVersion: 1.31.2',
      'network:',
      `  vpcId: ${vpcId}`,
      '  vpcCidr: 10.0.0.0/16',
      '  nodePortCidrs: [192.0.2.0/24]',
      '  subnets:',
      ...subnetIds.map((id, i) => `    - { id: ${id}, az: us-east-1${'ab'[i]} }`),
      'controlPlane: { count: 3, instanceType: t3.large, ami: ami-0abc1234 }',
      'addons: { cni: cilium }',
    ].join('\n'),
    'spec.yaml',
    { name: CLUSTER },
  );
  const graph = clusterGraph(spec);
  const get = <P>(key: string) => graph.find((r) => r.key === key) as unknown as DesiredResource<P>;
  return {
    groups: [
      get<SecurityGroupProperties>('security-group/control-plane'),
      get<SecurityGroupProperties>('security-group/worker'),
    ],
    rules: [
      get<SecurityGroupRulesProperties>('security-group-rules/control-plane'),
      get<SecurityGroupRulesProperties>('security-group-rules/worker'),
    ],
  };
}

/** Every rule of a group as `proto from-to source`, sorted; source names the cluster's groups by role. */
function rulesOf(permissions: IpPermission[] | undefined, names: Record<string, string>): string[] {
  const out: string[] = [];
  for (const p of permissions ?? []) {
    const ports = `${p.IpProtocol} ${p.FromPort}-${p.ToPort}`;
    for (const r of p.IpRanges ?? []) out.push(`${ports} ${r.CidrIp}`);
    for (const g of p.UserIdGroupPairs ?? []) out.push(`${ports} ${names[g.GroupId ?? ''] ?? g.GroupId}`);
  }
  return out.sort();
}

describe('security group providers against moto', () => {
  let clients: TestClients;
  motoPerTest((fresh) => {
    clients = fresh;
  });

  async function describeGroups(ids: string[]) {
    const out = await clients.raw.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ids }));
    return new Map((out.SecurityGroups ?? []).map((g) => [g.GroupId ?? '', g]));
  }

  it('makes both groups with the ports kubeadm and Cilium need, resumes without duplicates, and destroys them', async () => {
    const { vpcId, subnetIds } = await network(clients.raw.ec2);
    const { groups, rules } = graphFor(vpcId, subnetIds);
    const sgs = new SecurityGroupProvider(settings(clients));
    const sgRules = new SecurityGroupRulesProvider(settings(clients));

    const groupRecords: ResourceRecord[] = [];
    for (const group of groups) {
      assert.equal(await sgs.find(group, context(CLUSTER)), undefined);
      groupRecords.push(await sgs.create(group, context(CLUSTER)));
    }
    const ctx = context(CLUSTER, outputsFrom(...groupRecords));
    const [cp, wk] = groupRecords.map((r) => r.id) as [string, string];
    const names = { [cp]: 'control-plane', [wk]: 'workers' };

    // A run killed after the control plane's rules: the next run adopts them and its groups.
    const cpRules = rules[0] as DesiredResource<SecurityGroupRulesProperties>;
    const wkRules = rules[1] as DesiredResource<SecurityGroupRulesProperties>;
    await sgRules.create(cpRules, ctx);
    for (const [index, group] of groups.entries()) {
      assert.equal((await sgs.find(group, context(CLUSTER)))?.id, groupRecords[index]?.id);
    }
    assert.equal((await sgRules.find(cpRules, ctx))?.id, cp);
    assert.equal(await sgRules.find(wkRules, ctx), undefined, 'the workers have no rules yet');
    // create again (as if the record of the first was lost): nothing added twice, no error.
    await sgRules.create(cpRules, ctx);
    await sgRules.create(wkRules, ctx);
    assert.deepEqual(
      await sgRules.drift(wkRules, { ...groupRecords[1], key: wkRules.key } as ResourceRecord, ctx),
      [],
    );

    const described = await describeGroups([cp, wk]);
    const cpGroup = described.get(cp);
    assert.equal(cpGroup?.GroupName, 'kboot-prod-control-plane');
    assert.equal(cpGroup?.VpcId, vpcId);
    const tags = Object.fromEntries((cpGroup?.Tags ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tags['kboot.io/resource'], 'security-group/control-plane');
    assert.equal(tags['kubernetes.io/cluster/prod'], 'owned');
    const cilium = (from: string) => [`icmp 8-0 ${from}`, `tcp 4240-4240 ${from}`, `udp 8472-8472 ${from}`];
    assert.deepEqual(
      rulesOf(cpGroup?.IpPermissions, names),
      [
        'tcp 10250-10250 control-plane',
        'tcp 10250-10250 workers',
        'tcp 10257-10257 control-plane',
        'tcp 10259-10259 control-plane',
        'tcp 2379-2380 control-plane',
        'tcp 6443-6443 10.0.0.0/16',
        ...cilium('control-plane'),
        ...cilium('workers'),
      ].sort(),
    );
    assert.deepEqual(
      rulesOf(described.get(wk)?.IpPermissions, names),
      [
        'tcp 10250-10250 control-plane',
        'tcp 10250-10250 workers',
        'tcp 30000-32767 192.0.2.0/24',
        ...cilium('control-plane'),
        ...cilium('workers'),
      ].sort(),
    );

    // A rule removed by hand shows as drift.
    const cpRecord = { ...groupRecords[0], key: cpRules.key } as ResourceRecord;
    assert.deepEqual(await sgRules.drift(cpRules, cpRecord, ctx), []);
    await clients.raw.ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: cp,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 10259,
            ToPort: 10259,
            UserIdGroupPairs: [{ GroupId: cp, Description: 'kube-scheduler' }],
          },
        ],
      }),
    );
    assert.deepEqual(await sgRules.drift(cpRules, cpRecord, ctx), [
      { field: 'ingress', want: `tcp 10259-10259 from ${cp} (kube-scheduler)`, have: '(none)' },
    ]);

    // destroy: rules first (each group's rules name the other group), then the groups.
    assert.equal(await sgRules.delete(cpRecord, ctx), 'deleted');
    assert.equal(await sgRules.delete({ ...cpRecord, id: wk }, ctx), 'deleted');
    assert.equal(await sgRules.delete(cpRecord, ctx), 'already-gone');
    for (const record of groupRecords) assert.equal(await sgs.delete(record, context(CLUSTER)), 'deleted');
    for (const record of groupRecords)
      assert.equal(await sgs.delete(record, context(CLUSTER)), 'already-gone');
    assert.equal(await sgRules.delete(cpRecord, ctx), 'already-gone');
    const left = await clients.raw.ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
    );
    assert.deepEqual(
      (left.SecurityGroups ?? []).map((g) => g.GroupName),
      ['default'],
      'only the VPC default group is left',
    );
  });

  it('neither adopts nor replaces a group of the same name made outside kboot', async () => {
    const { vpcId, subnetIds } = await network(clients.raw.ec2);
    const { groups } = graphFor(vpcId, subnetIds);
    const group = groups[0] as DesiredResource<SecurityGroupProperties>;
    await clients.raw.ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: group.properties.name,
        Description: 'by hand',
        VpcId: vpcId,
      }),
    );
    const sgs = new SecurityGroupProvider(settings(clients));
    await assert.rejects(sgs.find(group, context(CLUSTER)), (error: unknown) => {
      assert.ok(error instanceof StateConflictError);
      assert.match(error.message, /security group kboot-prod-control-plane exists but was not made by kboot/);
      return true;
    });
  });
});
