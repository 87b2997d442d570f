/**
 * The cluster's security groups (`security-group`) and their ingress rules
 * (`security-group-rules`); domain/cluster/security-groups.ts says which and why.
 *
 * A group is found again by its name in the VPC, checked against kboot's tags. Its rules are one
 * resource: create authorizes only the rules the group lacks (so a resumed create never
 * duplicates one, and EC2's InvalidPermission.Duplicate cannot happen), find adopts the rules
 * when every one is there. Deleting the rules revokes every ingress rule of the group (kboot made
 * the group), so the other group, which they name, can then be deleted. A group still used by
 * network interfaces of terminating instances is retried until the delete timeout.
 */

import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import {
  type ResolvedRule,
  ruleText,
  type SecurityGroupProperties,
  type SecurityGroupRulesProperties,
} from '../../../domain/cluster/security-groups.js';
import { awsErrorName, rethrowAws } from '../errors.js';
import {
  dependencyOutput,
  fromAwsTags,
  type ProviderSettings,
  type ResolvedSettings,
  record,
  refuseUnlessOurs,
  resolveSettings,
  toAwsTags,
  unlessNotFound,
  waitUntil,
} from './provider-kit.js';

const NOT_FOUND = new Set(['InvalidGroup.NotFound', 'InvalidGroupId.NotFound', 'InvalidGroupId.Malformed']);

async function groupById(
  ec2: EC2Client,
  groupId: string,
  signal: AbortSignal,
): Promise<SecurityGroup | undefined> {
  const out = await unlessNotFound(NOT_FOUND, () =>
    ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }), { abortSignal: signal }),
  );
  return out?.SecurityGroups?.[0];
}

/** Every rule of EC2's permissions, one per source, as comparable text. */
function ruleTexts(permissions: readonly IpPermission[] | undefined): Set<string> {
  const texts = new Set<string>();
  for (const p of permissions ?? []) {
    const base = { protocol: p.IpProtocol ?? '', fromPort: p.FromPort ?? -1, toPort: p.ToPort ?? -1 };
    for (const range of p.IpRanges ?? []) texts.add(ruleText({ ...base, cidr: range.CidrIp ?? '' }));
    for (const pair of p.UserIdGroupPairs ?? [])
      texts.add(ruleText({ ...base, groupId: pair.GroupId ?? '' }));
  }
  return texts;
}

function toPermission(rule: ResolvedRule): IpPermission {
  return {
    IpProtocol: rule.protocol,
    FromPort: rule.fromPort,
    ToPort: rule.toPort,
    ...(rule.cidr === undefined
      ? { UserIdGroupPairs: [{ GroupId: rule.groupId, Description: rule.description }] }
      : { IpRanges: [{ CidrIp: rule.cidr, Description: rule.description }] }),
  };
}

export class SecurityGroupProvider implements ResourceProvider<SecurityGroupProperties> {
  readonly kind = 'security-group';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #record(desired: DesiredResource<unknown>, groupId: string, name: string): ResourceRecord {
    return record(desired, groupId, { groupId, name }, this.#settings.clock);
  }

  async find(desired: DesiredResource<SecurityGroupProperties>, context: ResourceContext) {
    const { name, vpcId } = desired.properties;
    const ec2 = await this.#settings.clients.ec2();
    try {
      const out = await ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'group-name', Values: [name] },
            { Name: 'vpc-id', Values: [vpcId] },
          ],
        }),
        { abortSignal: context.signal },
      );
      const group = out.SecurityGroups?.[0];
      if (group?.GroupId === undefined) return undefined;
      refuseUnlessOurs(fromAwsTags(group.Tags), 'security group', name, desired, context);
      return this.#record(desired, group.GroupId, name);
    } catch (error) {
      rethrowAws(error, `looking for security group ${name}`, 'ec2:DescribeSecurityGroups');
    }
  }

  async create(desired: DesiredResource<SecurityGroupProperties>, context: ResourceContext) {
    const { name, vpcId, description } = desired.properties;
    const ec2 = await this.#settings.clients.ec2();
    try {
      const out = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: description,
          VpcId: vpcId,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: toAwsTags({ ...context.tagsFor(desired.key), Name: name }),
            },
          ],
        }),
        { abortSignal: context.signal },
      );
      if (out.GroupId === undefined) throw new Error('CreateSecurityGroup returned no group id');
      this.#settings.logger.info(
        { key: desired.key, groupId: out.GroupId },
        `created security group ${name}`,
      );
      return this.#record(desired, out.GroupId, name);
    } catch (error) {
      rethrowAws(error, `creating security group ${name}`, 'ec2:CreateSecurityGroup and ec2:CreateTags');
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const ec2 = await this.#settings.clients.ec2();
    let outcome: DeleteOutcome = 'deleted';
    try {
      await waitUntil(
        this.#settings,
        `security group ${existing.id} to be free of network interfaces`,
        async () => {
          try {
            await ec2.send(new DeleteSecurityGroupCommand({ GroupId: existing.id }), {
              abortSignal: context.signal,
            });
            return { done: true, progress: 'deleted' };
          } catch (error) {
            const name = awsErrorName(error) ?? '';
            if (NOT_FOUND.has(name)) {
              outcome = 'already-gone';
              return { done: true, progress: 'already gone' };
            }
            // Network interfaces of instances that are still terminating, or a rule of another group.
            if (name === 'DependencyViolation') return { done: false, progress: 'still in use' };
            throw error;
          }
        },
        context.signal,
      );
      return outcome;
    } catch (error) {
      rethrowAws(error, `deleting security group ${existing.id}`, 'ec2:DeleteSecurityGroup');
    }
  }
}

export class SecurityGroupRulesProvider implements ResourceProvider<SecurityGroupRulesProperties> {
  readonly kind = 'security-group-rules';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  #resolved(desired: DesiredResource<SecurityGroupRulesProperties>, context: ResourceContext) {
    const groupId = dependencyOutput(context, desired.properties.group, ['groupId']);
    const rules: ResolvedRule[] = desired.properties.rules.map((rule) => {
      const { source, ...rest } = rule;
      return 'cidr' in source
        ? { ...rest, cidr: source.cidr }
        : { ...rest, groupId: dependencyOutput(context, source.groupFrom, ['groupId']) };
    });
    return { groupId, rules };
  }

  async #present(ec2: EC2Client, groupId: string, signal: AbortSignal): Promise<Set<string> | undefined> {
    const group = await groupById(ec2, groupId, signal);
    return group === undefined ? undefined : ruleTexts(group.IpPermissions);
  }

  async find(desired: DesiredResource<SecurityGroupRulesProperties>, context: ResourceContext) {
    const { groupId, rules } = this.#resolved(desired, context);
    const ec2 = await this.#settings.clients.ec2();
    try {
      const present = await this.#present(ec2, groupId, context.signal);
      if (present === undefined || !rules.every((rule) => present.has(ruleText(rule)))) return undefined;
      return record(desired, groupId, { groupId }, this.#settings.clock);
    } catch (error) {
      rethrowAws(error, `reading the rules of security group ${groupId}`, 'ec2:DescribeSecurityGroups');
    }
  }

  async create(desired: DesiredResource<SecurityGroupRulesProperties>, context: ResourceContext) {
    const { groupId, rules } = this.#resolved(desired, context);
    const ec2 = await this.#settings.clients.ec2();
    try {
      const present = (await this.#present(ec2, groupId, context.signal)) ?? new Set<string>();
      const missing = rules.filter((rule) => !present.has(ruleText(rule)));
      if (missing.length > 0) {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: missing.map(toPermission),
          }),
          { abortSignal: context.signal },
        );
      }
      this.#settings.logger.info(
        { key: desired.key, groupId, added: missing.length, kept: rules.length - missing.length },
        `allowed ${missing.length} ingress rules in security group ${groupId}`,
      );
      return record(desired, groupId, { groupId }, this.#settings.clock);
    } catch (error) {
      rethrowAws(
        error,
        `adding ingress rules to security group ${groupId}`,
        'ec2:DescribeSecurityGroups and ec2:AuthorizeSecurityGroupIngress',
      );
    }
  }

  /** Rules the spec asks for now (or removed by hand) are added; rules kboot no longer wants stay. */
  async update(
    desired: DesiredResource<SecurityGroupRulesProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ): Promise<ResourceRecord> {
    await this.create(desired, context);
    return existing;
  }

  async drift(
    desired: DesiredResource<SecurityGroupRulesProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const { rules } = this.#resolved(desired, context);
    const ec2 = await this.#settings.clients.ec2();
    try {
      const present = (await this.#present(ec2, existing.id, context.signal)) ?? new Set<string>();
      return rules
        .filter((rule) => !present.has(ruleText(rule)))
        .map((rule) => ({
          field: 'ingress',
          want: `${ruleText(rule)} (${rule.description})`,
          have: '(none)',
        }));
    } catch (error) {
      rethrowAws(error, `reading the rules of security group ${existing.id}`, 'ec2:DescribeSecurityGroups');
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const ec2 = await this.#settings.clients.ec2();
    try {
      const group = await groupById(ec2, existing.id, context.signal);
      if (group === undefined) return 'already-gone';
      const permissions = group.IpPermissions ?? [];
      if (permissions.length === 0) return 'already-gone';
      await ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: existing.id, IpPermissions: permissions }),
        {
          abortSignal: context.signal,
        },
      );
      return 'deleted';
    } catch (error) {
      if (NOT_FOUND.has(awsErrorName(error) ?? '')) return 'already-gone';
      rethrowAws(
        error,
        `revoking the ingress rules of security group ${existing.id}`,
        'ec2:DescribeSecurityGroups and ec2:RevokeSecurityGroupIngress',
      );
    }
  }
}
