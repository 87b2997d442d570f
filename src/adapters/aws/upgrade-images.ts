/**
 * The target AMI per architecture of an upgrade: each launch template's AMI (an id, or the spec's
 * query resolved as `kboot cluster create` resolves it: the newest available image tagged with
 * the target Kubernetes version) with its architecture. Two templates that resolve to different
 * AMIs for one architecture are a conflict the roll refuses.
 */

import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { imageFilters, newestFirst } from '../../domain/ami/query.js';
import type { AmiSource } from '../../domain/cluster/compute.js';
import { ARCHITECTURES, type Architecture } from '../../domain/upgrade/record.js';
import { describeImages } from './ec2-images.js';
import { awsErrorName, rethrowAws } from './errors.js';

export interface TemplateImage {
  /** The template's group, for messages. */
  group: string;
  ami: AmiSource;
  kubernetesVersion: string;
}

export interface ResolvedImages {
  images: Partial<Record<Architecture, string>>;
  /** Why the target has no usable AMI for a template, one line each. */
  problems: string[];
}

async function resolveOne(
  ec2: EC2Client,
  template: TemplateImage,
): Promise<{ id: string; arch: string } | string> {
  const { ami, kubernetesVersion, group } = template;
  if (typeof ami === 'string') {
    try {
      const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }));
      const image = out.Images?.[0];
      if (image === undefined || image.State !== 'available')
        return `the ${group} group's AMI ${ami} is not available`;
      return { id: ami, arch: image.Architecture ?? '' };
    } catch (error) {
      if (/^InvalidAMIID\./.test(awsErrorName(error) ?? ''))
        return `the ${group} group's AMI ${ami} is not available`;
      rethrowAws(error, `reading AMI ${ami}`, 'ec2:DescribeImages');
    }
  }
  const tags = Object.entries(ami.tags).map(([key, value]) => ({ key, value }));
  const filters = imageFilters({ tags, owners: ami.owners, arch: ami.arch, kubernetesVersion });
  const newest = newestFirst(await describeImages(ec2, ami.owners, filters), ami.arch)[0];
  if (newest === undefined)
    return `no available AMI matches the ${group} group's query at Kubernetes ${kubernetesVersion} (build or publish one; 'kboot ami' shows what matches)`;
  return { id: newest.id, arch: newest.architecture };
}

export async function resolveTargetImages(
  ec2: EC2Client,
  templates: readonly TemplateImage[],
): Promise<ResolvedImages> {
  const images: Partial<Record<Architecture, string>> = {};
  const problems: string[] = [];
  for (const template of templates) {
    const resolved = await resolveOne(ec2, template);
    if (typeof resolved === 'string') {
      problems.push(resolved);
      continue;
    }
    if (!(ARCHITECTURES as readonly string[]).includes(resolved.arch)) {
      problems.push(
        `the ${template.group} group's AMI ${resolved.id} has architecture "${resolved.arch}", which kboot does not run on`,
      );
      continue;
    }
    const arch = resolved.arch as Architecture;
    const other = images[arch];
    if (other !== undefined && other !== resolved.id) {
      problems.push(
        `the ${template.group} group's AMI ${resolved.id} differs from ${other} for ${arch}: the roll takes one AMI per architecture`,
      );
      continue;
    }
    images[arch] = resolved.id;
  }
  return { images, problems };
}
