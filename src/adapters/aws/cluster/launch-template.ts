/**
 * One launch template per group (`launch-template`): the AMI (given, or the newest match of a
 * `kboot ami` query), instance type, instance profile, IMDSv2 settings, IMDS-safe instance tags and
 * the user-data that writes /etc/kboot/config.yaml (domain/cluster/launch-template-data.ts and
 * user-data.ts say what and why). Found again by its name, checked against kboot's tags. A change
 * becomes a new version (`update`), made the default and recorded as the `version` output the Auto
 * Scaling group launches.
 */

import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type LaunchTemplate,
  ModifyLaunchTemplateCommand,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { ConfigError } from '../../../core/errors.js';
import { imageFilters, newestFirst } from '../../../domain/ami/query.js';
import type { LaunchTemplateProperties } from '../../../domain/cluster/compute.js';
import {
  type ExistingTemplateData,
  type LaunchTemplateData,
  launchTemplateData,
  launchTemplateDrift,
} from '../../../domain/cluster/launch-template-data.js';
import {
  type DeleteOutcome,
  type DesiredResource,
  RESOURCE_TAGS,
  type ResourceContext,
  type ResourceProvider,
  type ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { renderUserData } from '../../../domain/cluster/user-data.js';
import { describeImages } from '../ec2-images.js';
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
} from './provider-kit.js';

const NOT_FOUND = new Set([
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateId.Malformed',
]);

/** Extra spec tags: the context's tags that are neither kboot's nor the cluster tag. */
function specTags(all: Record<string, string>): Record<string, string> {
  const kboot = new Set<string>(Object.values(RESOURCE_TAGS));
  return Object.fromEntries(
    Object.entries(all).filter(([key]) => !kboot.has(key) && !key.startsWith('kubernetes.io/cluster/')),
  );
}

export class LaunchTemplateProvider implements ResourceProvider<LaunchTemplateProperties> {
  readonly kind = 'launch-template';
  readonly #settings: ResolvedSettings;

  constructor(settings: ProviderSettings) {
    this.#settings = resolveSettings(settings);
  }

  async #templateNamed(
    ec2: EC2Client,
    name: string,
    signal: AbortSignal,
  ): Promise<LaunchTemplate | undefined> {
    const out = await unlessNotFound(NOT_FOUND, () =>
      ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] }), { abortSignal: signal }),
    );
    return out?.LaunchTemplates?.[0];
  }

  #record(desired: DesiredResource<unknown>, template: LaunchTemplate, version: number): ResourceRecord {
    const id = template.LaunchTemplateId ?? '';
    return record(
      desired,
      id,
      { id, name: template.LaunchTemplateName ?? '', version: String(version) },
      this.#settings.clock,
    );
  }

  async find(desired: DesiredResource<LaunchTemplateProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const ec2 = await this.#settings.clients.ec2();
    try {
      const template = await this.#templateNamed(ec2, name, context.signal);
      if (template === undefined) return undefined;
      refuseUnlessOurs(fromAwsTags(template.Tags), 'launch template', name, desired, context);
      return this.#record(
        desired,
        template,
        template.DefaultVersionNumber ?? template.LatestVersionNumber ?? 1,
      );
    } catch (error) {
      rethrowAws(error, `looking for launch template ${name}`, 'ec2:DescribeLaunchTemplates');
    }
  }

  /** The AMI id: as given, or the newest available image the query matches. */
  async #imageId(properties: LaunchTemplateProperties): Promise<string> {
    const { ami, kubernetesVersion } = properties;
    if (typeof ami === 'string') return ami;
    const ec2 = await this.#settings.clients.ec2();
    const tags = Object.entries(ami.tags).map(([key, value]) => ({ key, value }));
    const filters = imageFilters({ tags, owners: ami.owners, arch: ami.arch, kubernetesVersion });
    const newest = newestFirst(await describeImages(ec2, ami.owners, filters), ami.arch)[0];
    if (newest === undefined) {
      const described = [
        ...tags.map(({ key, value }) => `tag ${key}=${value}`),
        ...(ami.owners.length > 0 ? [`owner ${ami.owners.join(',')}`] : []),
        ...(ami.arch === undefined ? [] : [`architecture ${ami.arch}`]),
        `Kubernetes version ${kubernetesVersion}`,
      ].join(', ');
      throw new ConfigError(`no available AMI matches the ${properties.group} group's query (${described})`, {
        hint: "build a kboot AMI (README \"Building an AMI\") or correct the spec's ami; 'kboot ami' shows what matches",
      });
    }
    return newest.id;
  }

  /** The data the template should hold now. */
  async #wanted(
    desired: DesiredResource<LaunchTemplateProperties>,
    context: ResourceContext,
  ): Promise<LaunchTemplateData> {
    const p = desired.properties;
    const nodeConfig = { ...p.nodeConfig };
    if (p.apiEndpointFrom !== undefined && nodeConfig.apiEndpoint === undefined) {
      nodeConfig.apiEndpoint = `${dependencyOutput(context, p.apiEndpointFrom, ['dnsName'])}:6443`;
    }
    const userData = renderUserData({ cluster: context.cluster, role: p.role, group: p.group, nodeConfig });
    return launchTemplateData({
      cluster: context.cluster,
      role: p.role,
      table: p.nodeConfig.table,
      imageId: await this.#imageId(p),
      instanceType: p.instanceType,
      instanceProfile: dependencyOutput(context, p.instanceProfile, ['arn', 'name']),
      securityGroupIds: [
        ...(p.securityGroupsFrom ?? []).map((key) => dependencyOutput(context, key, ['groupId'])),
        ...(p.securityGroupIds ?? []),
      ],
      keyName: p.keyName,
      hopLimit: p.metadataHopLimit,
      userData,
      extraTags: specTags(context.tagsFor(desired.key)),
    });
  }

  async create(desired: DesiredResource<LaunchTemplateProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const data = await this.#wanted(desired, context);
    const ec2 = await this.#settings.clients.ec2();
    try {
      const out = await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: name,
          VersionDescription: 'kboot cluster create',
          LaunchTemplateData: data as RequestLaunchTemplateData,
          TagSpecifications: [
            { ResourceType: 'launch-template', Tags: toAwsTags(context.tagsFor(desired.key)) },
          ],
        }),
        { abortSignal: context.signal },
      );
      const template = out.LaunchTemplate;
      if (template === undefined) throw new Error('CreateLaunchTemplate returned no launch template');
      this.#settings.logger.info(
        { key: desired.key, id: template.LaunchTemplateId, imageId: data.ImageId },
        `created launch template ${name}`,
      );
      return this.#record(desired, template, template.LatestVersionNumber ?? 1);
    } catch (error) {
      rethrowAws(error, `creating launch template ${name}`, 'ec2:CreateLaunchTemplate and ec2:CreateTags');
    }
  }

  async #version(
    ec2: EC2Client,
    existing: ResourceRecord,
    signal: AbortSignal,
  ): Promise<ExistingTemplateData | undefined> {
    try {
      const out = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: existing.id,
          Versions: [existing.outputs.version ?? '$Default'],
        }),
        { abortSignal: signal },
      );
      return out.LaunchTemplateVersions?.[0]?.LaunchTemplateData as ExistingTemplateData | undefined;
    } catch (error) {
      if (NOT_FOUND.has(awsErrorName(error) ?? '')) return undefined;
      rethrowAws(error, `reading launch template ${existing.id}`, 'ec2:DescribeLaunchTemplateVersions');
    }
  }

  async drift(
    desired: DesiredResource<LaunchTemplateProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ) {
    const ec2 = await this.#settings.clients.ec2();
    const have = await this.#version(ec2, existing, context.signal);
    if (have === undefined) return [{ field: 'exists', want: 'true', have: 'false' }];
    return launchTemplateDrift(await this.#wanted(desired, context), have);
  }

  /**
   * Makes the wanted data a new version of the template and its default; returns the record with
   * the new `version`. Nothing happens when the recorded version already holds it.
   */
  async update(
    desired: DesiredResource<LaunchTemplateProperties>,
    existing: ResourceRecord,
    context: ResourceContext,
  ): Promise<ResourceRecord> {
    const ec2 = await this.#settings.clients.ec2();
    const data = await this.#wanted(desired, context);
    const have = await this.#version(ec2, existing, context.signal);
    if (have !== undefined && launchTemplateDrift(data, have).length === 0) return existing;
    try {
      const out = await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: existing.id,
          VersionDescription: 'kboot cluster create (changed spec)',
          LaunchTemplateData: data as RequestLaunchTemplateData,
        }),
        { abortSignal: context.signal },
      );
      const version = out.LaunchTemplateVersion?.VersionNumber;
      if (version === undefined) throw new Error('CreateLaunchTemplateVersion returned no version');
      await ec2.send(
        new ModifyLaunchTemplateCommand({ LaunchTemplateId: existing.id, DefaultVersion: String(version) }),
        { abortSignal: context.signal },
      );
      this.#settings.logger.info(
        { key: desired.key, id: existing.id, version },
        'made a new launch template version',
      );
      return { ...existing, outputs: { ...existing.outputs, version: String(version) } };
    } catch (error) {
      rethrowAws(
        error,
        `making a new version of launch template ${existing.id}`,
        'ec2:CreateLaunchTemplateVersion and ec2:ModifyLaunchTemplate',
      );
    }
  }

  async delete(existing: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const ec2 = await this.#settings.clients.ec2();
    try {
      await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: existing.id }), {
        abortSignal: context.signal,
      });
      return 'deleted';
    } catch (error) {
      if (NOT_FOUND.has(awsErrorName(error) ?? '')) return 'already-gone';
      rethrowAws(error, `deleting launch template ${existing.id}`, 'ec2:DeleteLaunchTemplate');
    }
  }
}
