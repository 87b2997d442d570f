/**
 * `iam-role` and `iam-instance-profile`: per node role (control-plane, worker) a role EC2 can
 * assume, with the inline policy `kboot iam-policy --role <role>` prints, scoped to the cluster
 * (its table items, its secrets, its KMS key), and an instance profile holding it. Found again by
 * their deterministic names and checked against kboot's tags; a half-made one (killed before the
 * policy or the role was added) is finished by `complete`. Destroy takes the role out of the
 * profile, deletes the profile, then the role's inline policies and the role.
 */

import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  type InstanceProfile,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { type Clock, systemClock } from '../../../core/clock.js';
import type { IamInstanceProfileProperties, IamRoleProperties } from '../../../domain/cluster/graph.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { policyDocument, renderPolicy } from '../../../domain/iam/policy.js';
import { parseKmsKeyArn, resolvePolicyScope } from '../../../domain/iam/scope.js';
import { awsErrorName } from '../errors.js';
import {
  dependencyOutput,
  fromAwsTags,
  record,
  refuseUnlessOurs,
  sendClassified,
  toAwsTags,
} from './provider-kit.js';

export interface IamProviderSettings {
  clients: { iam(): Promise<IAMClient> };
  clock?: Clock;
}

const NOT_FOUND = new Set(['NoSuchEntityException']);

/** EC2 may assume the role (the instance profile hands it to instances). */
const EC2_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

class IamCalls {
  readonly #settings: IamProviderSettings;

  constructor(settings: IamProviderSettings) {
    this.#settings = settings;
  }

  /** Sends; NoSuchEntity comes back as undefined when `missingOk`, other failures are classified. */
  async send<T>(command: unknown, signal: AbortSignal, doing: string, permission: string): Promise<T> {
    const iam = await this.#settings.clients.iam();
    return sendClassified<T>(iam, command, { signal, doing, permission, notFound: NOT_FOUND });
  }

  async maybe<T>(
    command: unknown,
    signal: AbortSignal,
    doing: string,
    permission: string,
  ): Promise<T | undefined> {
    try {
      return await this.send<T>(command, signal, doing, permission);
    } catch (error) {
      if (NOT_FOUND.has(awsErrorName(error) ?? '')) return undefined;
      throw error;
    }
  }
}

/**
 * The role's policy document as `kboot iam-policy` renders it for the cluster and its key: the
 * IRSA statement only when the spec has `addons.irsa` (the scope then names its bucket).
 */
export function rolePolicy(properties: IamRoleProperties, kmsKeyArn: string): string {
  const key = parseKmsKeyArn(kmsKeyArn);
  const scope = resolvePolicyScope({ ...properties.scope, account: key.account, kmsKeyArn });
  return renderPolicy(
    policyDocument(properties.policyRole, scope, { cloudController: properties.cloudController === true }),
  );
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

export class IamRoleProvider implements ResourceProvider<IamRoleProperties> {
  readonly kind = 'iam-role';
  readonly #calls: IamCalls;
  readonly #clock: Clock;

  constructor(settings: IamProviderSettings) {
    this.#calls = new IamCalls(settings);
    this.#clock = settings.clock ?? systemClock;
  }

  #record(desired: DesiredResource<IamRoleProperties>, role: { RoleName?: string; Arn?: string }) {
    const name = role.RoleName ?? desired.properties.name;
    const arn = role.Arn ?? '';
    return record(desired, name, { name, arn }, this.#clock, arn);
  }

  async #role(name: string, signal: AbortSignal): Promise<Role | undefined> {
    const out = await this.#calls.maybe<{ Role?: Role }>(
      new GetRoleCommand({ RoleName: name }),
      signal,
      `reading IAM role ${name}`,
      'iam:GetRole',
    );
    return out?.Role;
  }

  async find(desired: DesiredResource<IamRoleProperties>, context: ResourceContext) {
    const role = await this.#role(desired.properties.name, context.signal);
    if (role === undefined) return undefined;
    refuseUnlessOurs(fromAwsTags(role.Tags), 'IAM role', desired.properties.name, desired, context);
    return this.#record(desired, role);
  }

  async #putPolicy(desired: DesiredResource<IamRoleProperties>, context: ResourceContext): Promise<void> {
    const p = desired.properties;
    await this.#calls.send(
      new PutRolePolicyCommand({
        RoleName: p.name,
        PolicyName: p.policyName,
        PolicyDocument: rolePolicy(p, dependencyOutput(context, p.kmsKeyFrom, ['arn'])),
      }),
      context.signal,
      `attaching the ${p.policyRole} policy to IAM role ${p.name}`,
      'iam:PutRolePolicy',
    );
  }

  async create(desired: DesiredResource<IamRoleProperties>, context: ResourceContext) {
    const p = desired.properties;
    const out = await this.#calls.send<{ Role?: Role }>(
      new CreateRoleCommand({
        RoleName: p.name,
        Path: p.path,
        Description: p.description,
        AssumeRolePolicyDocument: EC2_ASSUME_ROLE_POLICY,
        Tags: toAwsTags(context.tagsFor(desired.key)),
      }),
      context.signal,
      `creating IAM role ${p.name}`,
      'iam:CreateRole and iam:TagRole',
    );
    await this.#putPolicy(desired, context);
    return this.#record(desired, out.Role ?? {});
  }

  /** PutRolePolicy is idempotent: a role found after a killed create gets its policy for sure. */
  async complete(
    desired: DesiredResource<IamRoleProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    await this.#putPolicy(desired, context);
    return found;
  }

  /** A drifted policy (a spec that now enables the cloud controller, a new kboot's grants) is put again. */
  async update(
    desired: DesiredResource<IamRoleProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    await this.#putPolicy(desired, context);
    return existing;
  }

  async drift(
    desired: DesiredResource<IamRoleProperties>,
    _record: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const p = desired.properties;
    const out = await this.#calls.maybe<{ PolicyDocument?: string }>(
      new GetRolePolicyCommand({ RoleName: p.name, PolicyName: p.policyName }),
      context.signal,
      `reading the inline policy of IAM role ${p.name}`,
      'iam:GetRolePolicy',
    );
    if (out?.PolicyDocument === undefined)
      return [{ field: `policy ${p.policyName}`, want: 'present', have: 'missing' }];
    const have = decodeURIComponent(out.PolicyDocument);
    const want = rolePolicy(p, dependencyOutput(context, p.kmsKeyFrom, ['arn']));
    return sameJson(have, want)
      ? []
      : [{ field: `policy ${p.policyName}`, want: 'as kboot iam-policy prints it', have: 'different' }];
  }

  async delete(record: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const name = record.id;
    const listed = await this.#calls.maybe<{ PolicyNames?: string[] }>(
      new ListRolePoliciesCommand({ RoleName: name }),
      context.signal,
      `listing the inline policies of IAM role ${name}`,
      'iam:ListRolePolicies',
    );
    if (listed === undefined) return 'already-gone';
    for (const policy of listed.PolicyNames ?? []) {
      await this.#calls.maybe(
        new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy }),
        context.signal,
        `deleting policy ${policy} of IAM role ${name}`,
        'iam:DeleteRolePolicy',
      );
    }
    const deleted = await this.#calls.maybe(
      new DeleteRoleCommand({ RoleName: name }),
      context.signal,
      `deleting IAM role ${name}`,
      'iam:DeleteRole',
    );
    return deleted === undefined ? 'already-gone' : 'deleted';
  }
}

export class IamInstanceProfileProvider implements ResourceProvider<IamInstanceProfileProperties> {
  readonly kind = 'iam-instance-profile';
  readonly #calls: IamCalls;
  readonly #clock: Clock;

  constructor(settings: IamProviderSettings) {
    this.#calls = new IamCalls(settings);
    this.#clock = settings.clock ?? systemClock;
  }

  async #profile(name: string, signal: AbortSignal): Promise<InstanceProfile | undefined> {
    const out = await this.#calls.maybe<{ InstanceProfile?: InstanceProfile }>(
      new GetInstanceProfileCommand({ InstanceProfileName: name }),
      signal,
      `reading IAM instance profile ${name}`,
      'iam:GetInstanceProfile',
    );
    return out?.InstanceProfile;
  }

  #record(desired: DesiredResource<IamInstanceProfileProperties>, profile: Partial<InstanceProfile>) {
    const name = profile.InstanceProfileName ?? desired.properties.name;
    const arn = profile.Arn ?? '';
    return record(desired, name, { name, arn }, this.#clock, arn);
  }

  async find(desired: DesiredResource<IamInstanceProfileProperties>, context: ResourceContext) {
    const profile = await this.#profile(desired.properties.name, context.signal);
    if (profile === undefined) return undefined;
    const { name } = desired.properties;
    refuseUnlessOurs(fromAwsTags(profile.Tags), 'IAM instance profile', name, desired, context);
    return this.#record(desired, profile);
  }

  async #addRole(
    desired: DesiredResource<IamInstanceProfileProperties>,
    context: ResourceContext,
    profile?: InstanceProfile,
  ) {
    const p = desired.properties;
    const roleName = dependencyOutput(context, p.roleFrom, ['name']);
    if ((profile?.Roles ?? []).some((role) => role.RoleName === roleName)) return;
    await this.#calls.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: p.name, RoleName: roleName }),
      context.signal,
      `adding IAM role ${roleName} to instance profile ${p.name}`,
      'iam:AddRoleToInstanceProfile and iam:PassRole',
    );
  }

  async create(desired: DesiredResource<IamInstanceProfileProperties>, context: ResourceContext) {
    const p = desired.properties;
    const out = await this.#calls.send<{ InstanceProfile?: InstanceProfile }>(
      new CreateInstanceProfileCommand({
        InstanceProfileName: p.name,
        Path: p.path,
        Tags: toAwsTags(context.tagsFor(desired.key)),
      }),
      context.signal,
      `creating IAM instance profile ${p.name}`,
      'iam:CreateInstanceProfile and iam:TagInstanceProfile',
    );
    await this.#addRole(desired, context);
    return this.#record(desired, out.InstanceProfile ?? {});
  }

  async complete(
    desired: DesiredResource<IamInstanceProfileProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    await this.#addRole(desired, context, await this.#profile(desired.properties.name, context.signal));
    return found;
  }

  async drift(
    desired: DesiredResource<IamInstanceProfileProperties>,
    _record: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const profile = await this.#profile(desired.properties.name, context.signal);
    if (profile === undefined) return [{ field: 'instanceProfile', want: 'present', have: 'missing' }];
    const want = dependencyOutput(context, desired.properties.roleFrom, ['name']);
    const have = (profile.Roles ?? []).map((role) => role.RoleName).join(',');
    return have === want ? [] : [{ field: 'roles', want, have: have === '' ? '(none)' : have }];
  }

  async delete(record: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const name = record.id;
    const profile = await this.#profile(name, context.signal);
    if (profile === undefined) return 'already-gone';
    for (const role of profile.Roles ?? []) {
      await this.#calls.maybe(
        new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: role.RoleName }),
        context.signal,
        `removing IAM role ${role.RoleName} from instance profile ${name}`,
        'iam:RemoveRoleFromInstanceProfile',
      );
    }
    await this.#calls.maybe(
      new DeleteInstanceProfileCommand({ InstanceProfileName: name }),
      context.signal,
      `deleting IAM instance profile ${name}`,
      'iam:DeleteInstanceProfile',
    );
    return 'deleted';
  }
}
